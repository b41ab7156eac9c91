/**
 * What the operator commands (`status`, `cancel`) need from batches; implemented over the
 * BatchStore by `batches/batchOperations.ts`.
 */

/** One open batch as `obsq status` shows it. */
export interface OpenBatchSummary {
  batchId: string;
  /** Member jobs in the batch. */
  total: number;
  /** Members with a record (succeeded or failed). */
  finished: number;
  /** Members whose record is a failure. */
  failed: number;
  /** Epoch ms the batch was created. */
  createdAt: number;
}

/** How cancelling one batch went. */
export interface BatchCancelOutcome {
  batchId: string;
  /** The member job ids cancel was applied to (each through `Producer.cancel`). */
  members: string[];
}

/** What the operator commands need from batches. */
export interface BatchOperations {
  /** Batches not finished yet, newest first. */
  openBatches(): Promise<OpenBatchSummary[]>;
  /**
   * Cancels every unfinished member of `batchId` by calling `cancelJob` for it (which removes
   * waiting parts, flags active ones, aborts uploads and writes `OBSQ_CANCELLED` records), and
   * marks the batch record cancelled. Returns undefined when no such batch exists.
   */
  cancelBatch(batchId: string, cancelJob: (jobId: string) => Promise<unknown>): Promise<BatchCancelOutcome | undefined>;
}
