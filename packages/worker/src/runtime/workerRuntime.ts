import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  backPressureOf,
  catalogBackoffStrategy,
  cancelledAmong,
  coerceError,
  errorCode,
  isPermanent,
  jobCatalog,
  makeGetResult,
  ObsqError,
  parsePayload,
  batchMembershipOf,
  BatchStore,
  ResultStore,
  type BackPressure,
  type GetResult,
  type JobName,
} from '@obsq/shared';
import { retryAfterMsOf, type ObsClient } from '@obsq/storage';
import { jobHandlers } from '../jobs/index.js';
import type { HandlerSettings, JobContext, JobHandlerDefinition } from '../jobs/index.js';
import type { WorkerMetrics } from '../metrics/index.js';

/** Options of {@link WorkerRuntime}. */
export interface WorkerRuntimeOptions {
  /** Blocking-safe ioredis connection factory (`maxRetriesPerRequest: null`). */
  connection: () => Redis | Cluster;
  /** Client for the result store (non-blocking commands). */
  redis: Redis | Cluster;
  /** Hash-tagged queue prefix, e.g. `{obsq}`. */
  prefix: string;
  /** Concurrency per queue. */
  concurrency: Record<JobName, number>;
  /** Object-storage client. */
  storage: ObsClient;
  /** Result store settings. */
  retentionSeconds: number;
  streamMaxLen: number;
  /** Directories file sources must resolve into. */
  sourceRoots: readonly string[];
  /** BullMQ lock duration in ms: a worker silent this long loses the job to stalled recovery. */
  lockDurationMs: number;
  /** How often stalled jobs are looked for, in ms. */
  stalledIntervalMs: number;
  logger: Logger;
  metrics: WorkerMetrics;
  settings: HandlerSettings;
  /** Run only these queues. @defaultValue every queue of the job catalog */
  queues?: readonly JobName[];
  /**
   * How often the cancel flags of running attempts are read, in ms (one MGET per tick for all of
   * them). An attempt cancelled with `obsq cancel` stops within about this long.
   * @defaultValue 1000
   */
  cancelCheckMs?: number;
}

/** A running attempt as the cancel check sees it: the job ids whose flag stops it, and its switch. */
interface RunningAttempt {
  /** The job's id and, for flow children (parts), its parent's: cancelling an upload stops its parts. */
  ids: string[];
  cancel: AbortController;
}

/** A record-bearing error: StorageError and PartFailedError carry the GetResult to store. */
function resultOf(err: unknown): GetResult | undefined {
  const r = (err as { result?: unknown }).result;
  return r && typeof r === 'object' && 'status' in r ? (r as GetResult) : undefined;
}

/**
 * BullMQ's marker for a permanent failure, keeping what the record and the `failed` listeners need:
 * the stable `code`, the GetResult (`result`) and the original error as `cause`. With `reasonCode`
 * the message (BullMQ's `failedReason`) starts with it: `OBSQ_SOURCE_CHANGED: source.path: …`.
 */
export function toUnrecoverable(err: Error, reasonCode?: string): UnrecoverableError {
  const u = new UnrecoverableError(reasonCode && !err.message.startsWith(reasonCode) ? `${reasonCode}: ${err.message}` : err.message);
  const code = errorCode(err);
  if (code !== undefined) Object.assign(u, { code });
  const result = resultOf(err);
  if (result !== undefined) Object.assign(u, { result });
  Object.defineProperty(u, 'cause', { value: err, enumerable: false, writable: true, configurable: true });
  return u;
}


/** The error an attempt stops with once `obsq cancel` flagged its job (or its parent, `byJobId`). */
function cancelledError(byJobId: string): ObsqError {
  return new ObsqError('OBSQ_CANCELLED', `cancelled by an operator (obsq cancel ${byJobId})`, { permanent: true, details: { cancelledJobId: byJobId } });
}

/** BullMQ fails a job that stalled more than `maxStalledCount` times with this message. */
const STALLED_TOO_OFTEN = /stalled more than allowable limit/;

/** The GetResult written for a failure that carries no server response. */
function failureRecord(err: Error): GetResult {
  return resultOf(err) ?? makeGetResult({ status: 0, reason: '', errorCode: errorCode(err) ?? 'OBSQ_INTERNAL', errorMessage: err.message });
}

/**
 * Runs one BullMQ Worker per job name. Owns the invariants every job shares: payload validated
 * again, a timeout and shutdown signal per attempt, exactly one GetResult record per finished job
 * (none for a success whose handler returns no record: a quiet schedule tick),
 * permanent failures stopped at once, retries with the catalog's jittered backoff.
 */
export class WorkerRuntime {
  readonly results: ResultStore;
  readonly batches: BatchStore;
  private readonly workers = new Map<JobName, Worker>();
  /** Producer-side queues for handlers that enqueue jobs (schedule ticks); created on first use. */
  private readonly queues = new Map<JobName, Queue>();
  private readonly abort = new AbortController();
  private readonly opts: WorkerRuntimeOptions;
  private readonly running = new Set<RunningAttempt>();
  private cancelTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(opts: WorkerRuntimeOptions) {
    this.opts = opts;
    this.results = new ResultStore({ redis: opts.redis, prefix: opts.prefix, retentionSeconds: opts.retentionSeconds, streamMaxLen: opts.streamMaxLen });
    this.batches = new BatchStore({ redis: opts.redis, prefix: opts.prefix, results: this.results, retentionSeconds: opts.retentionSeconds });
  }

  /** Starts the workers and resolves once each is connected. */
  async start(): Promise<void> {
    const names = this.opts.queues ?? (Object.keys(jobCatalog) as JobName[]);
    for (const name of names) {
      const worker = new Worker(name, (job, token, signal) => this.process(name, job, token, signal), {
        connection: this.opts.connection(),
        prefix: this.opts.prefix,
        concurrency: this.opts.concurrency[name] ?? 1,
        lockDuration: this.opts.lockDurationMs,
        stalledInterval: this.opts.stalledIntervalMs,
        maxStalledCount: 2,
        autorun: true,
        settings: {
          // The catalog's capped, jittered exponential backoff; a server's Retry-After wins when longer.
          backoffStrategy: (attemptsMade, type, err, job) =>
            Math.max(catalogBackoffStrategy(attemptsMade, type, err, job), retryAfterMsOf(resultOf(err)) ?? 0),
        },
      });
      worker.on('error', (err) => this.opts.logger.error({ err, queue: name }, 'worker error'));
      worker.on('stalled', (jobId) => {
        this.opts.metrics.jobStalled(name);
        this.opts.logger.warn({ queue: name, jobId }, 'job stalled; it will be retried by a live worker');
      });
      // Jobs can fail without the processor seeing the last attempt (stalled too often): make sure
      // they still get their one record.
      worker.on('failed', (job, err) => {
        if (!job) return;
        const attempts = job.opts.attempts ?? 1;
        if (STALLED_TOO_OFTEN.test(err.message)) {
          // The processor never saw this failure, so its final-failure cleanup (abort the upload)
          // runs here, before the record.
          void this.finishStalled(name, job, err);
        } else if (err instanceof UnrecoverableError || job.attemptsMade >= attempts) {
          // attemptsMade already counts the attempt that just failed.
          void this.writeRecord(name, job, failureRecord(err), job.attemptsMade).catch((e: unknown) =>
            this.opts.logger.error({ err: e, queue: name, jobId: job.id }, 'could not write failure record'),
          );
        }
      });
      this.workers.set(name, worker);
    }
    await Promise.all([...this.workers.values()].map((w) => w.waitUntilReady()));
    this.cancelTimer = setInterval(() => void this.checkCancels(), this.opts.cancelCheckMs ?? 1000);
    this.cancelTimer.unref();
  }

  /** Stops every running attempt whose job (or parent) has its cancel flag set. Never throws. */
  private async checkCancels(): Promise<void> {
    if (this.running.size === 0) return;
    const attempts = [...this.running];
    try {
      const cancelled = await cancelledAmong(this.opts.redis, this.opts.prefix, [...new Set(attempts.flatMap((a) => a.ids))]);
      for (const a of attempts) {
        const by = a.ids.find((id) => cancelled.has(id));
        if (by !== undefined) a.cancel.abort(cancelledError(by));
      }
    } catch (err) {
      this.opts.logger.warn({ err }, 'could not read cancel flags');
    }
  }

  /** True while every worker is running and not closing. */
  isRunning(): boolean {
    return !this.closing && [...this.workers.values()].every((w) => w.isRunning());
  }

  /** Writes the job's one record; `attempts` defaults to the attempt in progress. */
  private async writeRecord(name: JobName, job: Job, result: GetResult, attempts = job.attemptsMade + 1): Promise<void> {
    const batch = batchMembershipOf(job.data, result);
    const written = await this.results.writeOnceInBatch({ jobId: String(job.id), queue: name, parentId: job.parent?.id, attempts, result }, batch);
    if (written === 2 && batch) {
      // This record completed its batch: write the batch's record. Failure here is repaired by the
      // next `batch status`/`wait`, so it is logged, not thrown into the job.
      await this.batches.finalize(batch.id).catch((err: unknown) => this.opts.logger.error({ err, batchId: batch.id }, 'could not write batch record'));
    }
  }

  /** Final-failure cleanup and the record of a job BullMQ failed for stalling too often. Never throws. */
  private async finishStalled(name: JobName, job: Job, err: Error): Promise<void> {
    const logger = this.opts.logger.child({ queue: name, jobId: job.id });
    let record = failureRecord(err);
    try {
      const def = jobHandlers[name] as JobHandlerDefinition<JobName>;
      if (def.onFinalFailure) {
        const data = parsePayload(name, job.data);
        const signal = AbortSignal.any([AbortSignal.timeout(jobCatalog[name].timeoutMs), this.abort.signal]);
        const ctx = this.context(job, undefined, data, job.attemptsMade, signal, logger);
        const note = await def.onFinalFailure(ctx, err);
        if (note) record = { ...record, errorMessage: `${record.errorMessage}; ${note}` };
      }
    } catch (e) {
      logger.error({ err: e }, 'final-failure cleanup of a stalled job failed');
    }
    this.opts.metrics.jobFinished(name, 'failed', 0, errorCode(err) ?? 'STALLED');
    logger.error({ err }, `job ${job.id} (${name}) failed: stalled too often`);
    await this.writeRecord(name, job, record, job.attemptsMade).catch((e: unknown) => logger.error({ err: e }, 'could not write failure record'));
  }

  private context<N extends JobName>(
    job: Job,
    token: string | undefined,
    data: JobContext<N>['data'],
    attempt: number,
    signal: AbortSignal,
    logger: Logger,
  ): JobContext<N> {
    return {
      job,
      token,
      data,
      attempt,
      attempts: job.opts.attempts ?? 1,
      signal,
      logger,
      storage: this.opts.storage,
      results: this.results,
      metrics: this.opts.metrics,
      sourceRoots: this.opts.sourceRoots,
      settings: this.opts.settings,
      queue: (n) => this.queue(n),
      redis: this.opts.redis,
      prefix: this.opts.prefix,
    };
  }

  private async process(name: JobName, job: Job, token: string | undefined, bullSignal?: AbortSignal): Promise<GetResult | undefined> {
    const started = performance.now();
    const attempts = job.opts.attempts ?? 1;
    const attempt = job.attemptsMade + 1;
    const logger = this.opts.logger.child({ queue: name, jobId: job.id, attempt, attempts });
    const timeout = AbortSignal.timeout(jobCatalog[name].timeoutMs);
    const running: RunningAttempt = { ids: [String(job.id), ...(job.parent?.id ? [job.parent.id] : [])], cancel: new AbortController() };
    const signals = [timeout, this.abort.signal, running.cancel.signal, ...(bullSignal ? [bullSignal] : [])];
    const signal = AbortSignal.any(signals);
    this.opts.metrics.jobStarted(name);
    const def = jobHandlers[name] as JobHandlerDefinition<JobName>;
    let ctx: JobContext<JobName> | undefined;
    this.running.add(running);
    try {
      ctx = this.context(job, token, parsePayload(name, job.data), attempt, signal, logger);
      // A job cancelled while it waited (a part the cancel could not remove, a parent woken by its
      // cancelled parts) stops before doing anything.
      const cancelledBefore = [...(await cancelledAmong(this.opts.redis, this.opts.prefix, running.ids))][0];
      if (cancelledBefore !== undefined) throw cancelledError(cancelledBefore);
      const result = await def.run(ctx);
      if (result !== undefined) await this.writeRecord(name, job, result);
      const seconds = (performance.now() - started) / 1000;
      this.opts.metrics.jobFinished(name, 'completed', seconds);
      logger.info({ durationMs: Math.round(seconds * 1000) }, `job ${job.id} (${name}) completed on attempt ${attempt} of ${attempts}`);
      return result;
    } catch (thrown) {
      let err = coerceError(thrown);
      const busy = backPressureOf(err);
      if (busy && token !== undefined && !this.abort.signal.aborted) {
        return await this.putBack(name, job, token, busy, err, started, logger);
      }
      // A failure caused by the cancel itself (the upload aborted under a part's PUT) is reported as
      // the cancel, also when it came before this attempt's next check.
      const cancelledBy = running.cancel.signal.aborted
        ? undefined
        : [...(await cancelledAmong(this.opts.redis, this.opts.prefix, running.ids).catch(() => new Set<string>()))][0];
      if (running.cancel.signal.aborted) {
        err = running.cancel.signal.reason as ObsqError;
      } else if (cancelledBy !== undefined) {
        err = cancelledError(cancelledBy);
      } else if (timeout.aborted && !this.abort.signal.aborted) {
        err = Object.assign(new Error(`job timed out after ${jobCatalog[name].timeoutMs} ms`, { cause: err }), { code: 'OBSQ_TIMEOUT' });
      }
      const permanent = isPermanent(err);
      const final = permanent || attempt >= attempts;
      const seconds = (performance.now() - started) / 1000;
      const shuttingDown = this.abort.signal.aborted;
      if (final && !shuttingDown) {
        if (ctx && def.onFinalFailure) await def.onFinalFailure(ctx, err).catch((e: unknown) => void logger.error({ err: e }, 'final-failure cleanup failed'));
        await this.writeRecord(name, job, failureRecord(err));
      }
      const code = resultOf(err)?.errorCode || errorCode(err) || 'unknown';
      this.opts.metrics.jobFinished(name, final ? 'failed' : 'retried', seconds, code);
      logger[final ? 'error' : 'warn'](
        { err, errorCode: code, durationMs: Math.round(seconds * 1000), permanent },
        `job ${job.id} (${name}) ${final ? 'failed' : 'will retry'} on attempt ${attempt} of ${attempts}`,
      );
      // The final failure's reason (BullMQ's failedReason: `obsq jobs`, the queue UI) starts with the
      // record's error code, so a failed job shows why without opening its record.
      if (final && !shuttingDown) throw toUnrecoverable(err, code);
      if (permanent) throw toUnrecoverable(err);
      throw err;
    } finally {
      this.running.delete(running);
    }
  }

  /**
   * Back-pressure is not failure: the job goes back to `delayed` for the remote's `Retry-After`
   * (jittered, so throttled jobs do not return in lockstep) and BullMQ's `moveToDelayed` does not
   * count an attempt; no record is written. BullMQ's manual rate limit (`queue.rateLimit` +
   * `RateLimitError`) was not used: in 6.7 it is only honoured when the worker has a `limiter`
   * (`getRateLimitTTL` needs `maxJobs`), without one the job is fetched again at once; and it
   * would pause the whole queue, local-engine transcriptions included, for a SIS limit.
   */
  private async putBack(name: JobName, job: Job, token: string, busy: BackPressure, err: Error, started: number, logger: Logger): Promise<never> {
    const base = busy.retryAfterMs ?? 5_000;
    const delayMs = Math.round(base * (1 + Math.random() / 2));
    await job.moveToDelayed(Date.now() + delayMs, token);
    const seconds = (performance.now() - started) / 1000;
    this.opts.metrics.jobFinished(name, 'throttled', seconds);
    logger.warn(
      { err, errorCode: errorCode(err), delayMs, durationMs: Math.round(seconds * 1000) },
      `job ${job.id} (${name}) throttled by a remote; back in ${delayMs} ms without spending an attempt`,
    );
    throw new DelayedError();
  }

  private queue(name: JobName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.opts.redis, prefix: this.opts.prefix });
      q.on('error', (err) => this.opts.logger.error({ err, queue: name }, 'queue error'));
      this.queues.set(name, q);
    }
    return q;
  }

  /**
   * Stops taking jobs and lets in-flight ones finish until `deadline` (epoch ms); then aborts them
   * through their signal so BullMQ's stalled-job recovery hands them to another worker.
   * Idempotent.
   */
  close(deadlineMs: number): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.cancelTimer);
      const workers = [...this.workers.values()];
      const drained = Promise.allSettled(workers.map((w) => w.close()));
      const left = deadlineMs - Date.now();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        drained.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), Math.max(0, left));
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        this.opts.logger.warn('shutdown deadline reached: aborting in-flight jobs');
        this.abort.abort(new Error('worker shutting down'));
        await Promise.allSettled(workers.map((w) => w.close(true)));
      }
      // After the workers: a draining schedule tick may still be enqueueing.
      await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    })();
    return this.closing;
  }
}
