import { makeGetResult, type BatchStore, type ResultStore } from '@obsq/shared';
import type { BatchCancelOutcome, BatchOperations, OpenBatchSummary } from '../admin/batchHooks.js';

/**
 * Batches as the operator commands see them: `obsq status` lists the open ones, `obsq cancel
 * <batchId>` cancels every unfinished member (each as a single job: waiting parts removed, running
 * attempts stopped, uploads aborted, `OBSQ_CANCELLED` records) and so brings the batch to its
 * record (207, the cancelled files counted as failed).
 */
export function batchOperations(batches: BatchStore, results: ResultStore): BatchOperations {
  return {
    async openBatches(): Promise<OpenBatchSummary[]> {
      const ids = await batches.openBatches(100);
      const out: OpenBatchSummary[] = [];
      for (const batchId of ids) {
        const s = await batches.status(batchId);
        if (!s || s.record) continue;
        out.push({ batchId, total: s.members, finished: s.done, failed: s.failed, createdAt: s.createdAt });
      }
      return out.sort((a, b) => b.createdAt - a.createdAt);
    },

    async cancelBatch(batchId, cancelJob): Promise<BatchCancelOutcome | undefined> {
      const status = await batches.status(batchId);
      if (!status) return undefined;
      if (status.record) return { batchId, members: [] };
      // Stop a producer still enqueueing it, then seal: the batch completes once every member has a record.
      await batches.markCancelled(batchId);
      const members = await batches.unfinishedMembers(batchId);
      for (const member of members) {
        const outcome = await cancelJob(member).catch(() => 'finished');
        if (outcome === undefined) {
          // The job is gone (removed by hand): its record says so, so the batch can still finish.
          await results.writeOnceInBatch(
            { jobId: member, queue: 'put-object', attempts: 0, result: makeGetResult({ status: 0, errorCode: 'OBSQ_CANCELLED', errorMessage: `cancelled with batch ${batchId}; the job was gone` }) },
            { id: batchId, key: '', item: '', bytes: 0 },
          );
        }
      }
      await batches.seal(batchId);
      await batches.finalize(batchId);
      return { batchId, members };
    },
  };
}
