import type { Logger } from './createLogger.js';

/** Context bound on every line of one job attempt. */
export interface JobLogContext {
  /** Queue (= job name). */
  queue: string;
  jobId: string;
  /** This attempt, 1-based. */
  attempt: number;
  /** Attempts allowed in total. */
  attempts: number;
}

/**
 * Child logger for one job attempt. Only these fixed, non-user-controlled fields are bound, so a
 * payload can never inject keys into log lines.
 */
export function jobLogger(root: Logger, { queue, jobId, attempt, attempts }: JobLogContext): Logger {
  return root.child({ queue, jobId, attempt, attempts });
}
