import { JOB_STATES, QUEUE_NAMES, type JobName, type JobState } from '@obsq/shared';
import type { AdminDeps } from './adminDeps.js';
import type { OpenBatchSummary } from './batchHooks.js';

/** One queue in {@link ObsqStatus}. */
export interface QueueStatus {
  queue: JobName;
  /** Jobs per state, as Redis holds them now (`failed`/`completed` count what retention keeps). */
  counts: Record<JobState, number>;
  /** Age of the oldest job in `waiting`, in ms; null when none waits. */
  oldestWaitingAgeMs: number | null;
  /** Worker connections on this queue (BullMQ's worker list: one per worker process running it). */
  workers: number;
}

/** Failures of one queue with one error code. */
export interface FailureCount {
  queue: string;
  errorCode: string;
  count: number;
}

/** What `obsq status` reports. */
export interface ObsqStatus {
  /** Epoch ms of the reading. */
  at: number;
  queues: QueueStatus[];
  /** Failure records written in the last `failureWindowMs`, by queue and error code, most first. */
  failures: FailureCount[];
  /** Length of the failure window, in ms. */
  failureWindowMs: number;
  /** Batches not finished yet (empty until batches are wired in; see `batchHooks.ts`). */
  openBatches: OpenBatchSummary[];
}

/** Reads the queues' counts, oldest waiting job, workers, recent failures and open batches. */
export async function readStatus(deps: AdminDeps, { failureWindowMs = 3_600_000, now = Date.now() } = {}): Promise<ObsqStatus> {
  const queues = await Promise.all(
    QUEUE_NAMES.map(async (name): Promise<QueueStatus> => {
      const q = deps.queue(name);
      const [raw, oldest, workers] = await Promise.all([
        q.getJobCounts(...JOB_STATES),
        // The wait list is LPUSHed: its last element is the job that has waited longest.
        q.getJobs(['wait'], -1, -1),
        q.getWorkersCount(),
      ]);
      const counts = Object.fromEntries(JOB_STATES.map((s) => [s, raw[s] ?? 0])) as Record<JobState, number>;
      const ts = oldest[0]?.timestamp;
      return { queue: name, counts, oldestWaitingAgeMs: ts === undefined ? null : Math.max(0, now - ts), workers };
    }),
  );
  return {
    at: now,
    queues,
    failures: await recentFailures(deps, now - failureWindowMs),
    failureWindowMs,
    openBatches: await deps.batches.openBatches(),
  };
}

/** Counts failure entries of the results stream since `sinceMs`, paging through it (no full read). */
async function recentFailures(deps: AdminDeps, sinceMs: number): Promise<FailureCount[]> {
  const counts = new Map<string, FailureCount>();
  let start = `${Math.max(0, Math.floor(sinceMs))}-0`;
  for (;;) {
    const page = await deps.redis.xrange(deps.results.streamKey, start, '+', 'COUNT', 1000);
    for (const [, fields] of page) {
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
      const status = Number(f.get('status'));
      const code = f.get('errorCode') ?? '';
      if (code === '' && status > 0 && status < 300) continue;
      const queue = f.get('queue') ?? 'other';
      const key = `${queue}\n${code}`;
      const c = counts.get(key) ?? { queue, errorCode: code || 'unknown', count: 0 };
      c.count++;
      counts.set(key, c);
    }
    if (page.length < 1000) break;
    start = `(${page[page.length - 1]![0]}`;
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || a.queue.localeCompare(b.queue));
}
