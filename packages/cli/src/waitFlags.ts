import type { Producer } from '@obsq/producer';
import { isSuccess, type StoredResult } from '@obsq/shared';
import { out } from './output.js';
import { showProgress } from './progress.js';

/** The flags every enqueueing command takes (`parseArgs` options). */
export const WAIT_FLAGS = {
  'job-id': { type: 'string' },
  wait: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  'timeout-ms': { type: 'string', default: '3600000' },
} as const;

/** How {@link finishEnqueued} reports an enqueued job. */
export interface FinishOptions<Body> {
  producer: Producer;
  /** The enqueue call's answer; printed as JSON (or its job id) without `--wait`. */
  enqueued: { jobId: string };
  values: { wait: boolean; json: boolean; 'timeout-ms': string };
  /** One human line printed before waiting (not with `--json`). */
  summary: string;
  /** TTY progress: bar label, total units and a reader of units done; omitted means no bar. */
  progress?: { label: string; total: number; read: () => Promise<number> };
  /** Prints the record and returns the exit code. */
  print: (rec: StoredResult<Body>, json: boolean) => number;
}

/**
 * The common tail of `upload`, `copy` and `transcribe`: print the job id (or the JSON answer), or
 * with `--wait` show progress until the record exists and print it. Exit code 0 on success.
 */
export async function finishEnqueued<Body>(o: FinishOptions<Body>): Promise<number> {
  if (!o.values.wait) {
    out(o.values.json ? JSON.stringify(o.enqueued) : o.enqueued.jobId);
    return 0;
  }
  if (!o.values.json) out(o.summary);
  const stop = o.progress ? showProgress(o.progress.label, o.progress.total, o.progress.read) : () => undefined;
  try {
    const rec = await o.producer.waitForResult<Body>(o.enqueued.jobId, { timeoutMs: Number(o.values['timeout-ms']) });
    stop(isSuccess(rec.result) ? o.progress?.total : undefined);
    return o.print(rec, o.values.json);
  } finally {
    stop();
  }
}

/** Bytes-done reader for a multipart job's bar: finished children out of all, scaled to `size`. */
export function partsProgress(producer: Producer, jobId: string, size: number): () => Promise<number> {
  return async () => {
    const p = await producer.uploadProgress(jobId);
    return p ? Math.round((p.done / Math.max(1, p.total)) * size) : 0;
  };
}
