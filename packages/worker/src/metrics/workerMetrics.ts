import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { OBSQ_VERSION } from '@obsq/shared';
import type { StorageOperation } from '@obsq/storage';
import {
  engineLabel,
  errorCodeLabel,
  operationLabel,
  queueLabel,
  METRIC_QUEUES,
  QUEUE_DEPTH_STATES,
  type ByteDirection,
  type JobOutcome,
  type MetricQueue,
  type StatusClass,
} from './metricLabels.js';
import { QueueDepthReader, type QueueCountsSource } from './queueDepthReader.js';

/** Buckets of `obsq_job_duration_seconds`, in seconds: 50 ms to 30 min (the longest job timeout). */
export const JOB_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800];

/** Buckets of `obsq_storage_request_duration_seconds`, in seconds: 5 ms to 5 min (a 5 GB part copy). */
export const STORAGE_REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Buckets of `obsq_transcription_real_time_factor` (processing seconds per audio second). */
export const REAL_TIME_FACTOR_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

/** Options of {@link createWorkerMetrics}. */
export interface WorkerMetricsOptions {
  /** The registry to register every metric in; never prom-client's global one. */
  register: Registry;
  /**
   * Queues whose job counts `obsq_queue_jobs{queue,state}` reports, read from Redis at scrape
   * time. A function is called at every (uncached) read, so queues may be added later.
   * @defaultValue `[]`
   */
  queues?: readonly QueueCountsSource[] | (() => readonly QueueCountsSource[]);
  /** This worker's id; reported as the `worker_id` label of `obsq_worker_info` only. */
  workerId: string;
  /**
   * The `version` label of `obsq_worker_info`.
   * @defaultValue `OBSQ_VERSION`
   */
  version?: string;
  /**
   * Also register prom-client's default process/nodejs metrics (`process_*`, `nodejs_*`,
   * unprefixed, so they never clash with `obsq_*`).
   * @defaultValue true
   */
  collectDefault?: boolean;
  /**
   * How long one read of the queue counts is reused, in milliseconds.
   * @defaultValue 1000
   */
  queueCountsCacheMs?: number;
  /** Receives a warning when reading a queue's counts fails (the scrape then omits that queue). */
  logger?: Pick<Logger, 'warn'>;
}

/**
 * What the worker runtime calls to record its work. Every method is cheap and never throws on
 * label values: unknown queues, operations, error codes and engines are reported as `other`.
 */
export interface WorkerMetrics {
  /** The registry the metrics live in (serve it with `startMetricsServer`). */
  readonly register: Registry;
  /** A job attempt started: `obsq_job_attempts_total` +1, `obsq_jobs_in_progress` +1. */
  jobStarted(queue: MetricQueue): void;
  /**
   * A job attempt ended. Call exactly once per `jobStarted`. `failed` means final failure
   * (`obsq_jobs_failed_total{error_code}`); `retried` means BullMQ will run it again
   * (`obsq_job_retries_total`); `throttled` means a remote said "too busy" and the job was put
   * back without spending an attempt (`obsq_jobs_throttled_total`).
   * @param durationSeconds the attempt's run time, in seconds
   * @param errorCode the error's `code` (failed only; unknown codes become `other`)
   */
  jobFinished(queue: MetricQueue, outcome: JobOutcome, durationSeconds: number, errorCode?: string): void;
  /** BullMQ's `stalled` event: a job's lock expired and it was moved back to wait. */
  jobStalled(queue: MetricQueue): void;
  /** Adds `n` bytes to `obsq_{uploaded,copied,downloaded}_bytes_total{queue}`. */
  bytes(queue: MetricQueue, direction: ByteDirection, n: number): void;
  /**
   * One storage HTTP request (each retry counts as one).
   * @param seconds time from sending the request to the end of the response (or the error)
   */
  storageRequest(operation: StorageOperation, statusClass: StatusClass, seconds: number): void;
  /** A SIS websocket session connected. */
  sisSessionOpened(): void;
  /** A SIS websocket session ended (in any way). */
  sisSessionClosed(): void;
  /**
   * One audio file was transcribed.
   * @param engine a code constant such as `sis` or `pocketsphinx`
   * @param seconds the audio's duration, in seconds
   * @param realTimeFactor processing time divided by audio duration
   */
  audioTranscribed(queue: MetricQueue, engine: string, seconds: number, realTimeFactor: number): void;
  /**
   * One scan for stale multipart uploads (`abort-stale-uploads`): sets `obsq_multipart_uploads_open`
   * and counts the aborts by outcome.
   * @param schedule the schedule id that ran the scan, or `manual` for a one-off job
   * @param open multipart uploads open under the scanned prefix
   */
  uploadsScanned(schedule: string, open: number, aborts: { aborted: number; gone: number; failed: number }): void;
  /** A schedule gave an object version up after its last try: `obsq_schedule_objects_given_up_total` +1. */
  scheduleGivenUp(): void;
  /**
   * A local engine process was killed and replaced: `obsq_local_engine_replaced_total{reason}` +1.
   * @param reason `crashed` (exited on its own), `stuck` (timed out) or `aborted` (job cancelled)
   */
  engineReplaced(reason: 'crashed' | 'stuck' | 'aborted'): void;
}

/** Default metrics dropped by {@link createWorkerMetrics}; see the comment there. */
const REDUNDANT_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Schedule ids as the catalog allows them; they are operator-chosen and few, so they may be labels. */
const SCHEDULE_LABEL = /^[A-Za-z0-9._-]{1,100}$/;

const STATUS_CLASSES: ReadonlySet<string> = new Set<StatusClass>(['2xx', '3xx', '4xx', '5xx', 'network']);

function nonNegative(n: number): boolean {
  return Number.isFinite(n) && n >= 0;
}

/**
 * Registers obsq's worker metrics in `register` and returns the recorder the worker calls.
 * Call once per registry (a second call throws: the names are already registered).
 */
export function createWorkerMetrics(options: WorkerMetricsOptions): WorkerMetrics {
  // Undefined options fall back to the defaults instead of overriding them.
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as WorkerMetricsOptions;
  const opts = { queues: [], collectDefault: true, queueCountsCacheMs: 1000, ...given };
  if (!opts.register || typeof opts.register.registerMetric !== 'function') {
    throw new TypeError('register must be a prom-client Registry');
  }
  if (typeof opts.workerId !== 'string' || opts.workerId === '') {
    throw new TypeError('workerId must be a non-empty string');
  }
  if (!Number.isInteger(opts.queueCountsCacheMs) || opts.queueCountsCacheMs < 0) {
    throw new TypeError('queueCountsCacheMs must be a non-negative integer (milliseconds)');
  }
  const registers = [opts.register];
  const queueSources = typeof opts.queues === 'function' ? opts.queues : () => opts.queues as readonly QueueCountsSource[];

  const completed = new Counter({
    name: 'obsq_jobs_completed_total',
    help: 'Jobs that completed; one per job that succeeded (on any attempt).',
    labelNames: ['queue'] as const,
    registers,
  });
  const failed = new Counter({
    name: 'obsq_jobs_failed_total',
    help: 'Jobs that failed for good (attempts exhausted or permanent error); one per job, by the last error code.',
    labelNames: ['queue', 'error_code'] as const,
    registers,
  });
  const attempts = new Counter({
    name: 'obsq_job_attempts_total',
    help: 'Job attempts started by this worker; one per attempt.',
    labelNames: ['queue'] as const,
    registers,
  });
  const retries = new Counter({
    name: 'obsq_job_retries_total',
    help: 'Job attempts that failed and will be retried by BullMQ; one per failed, non-final attempt.',
    labelNames: ['queue'] as const,
    registers,
  });
  const stalled = new Counter({
    name: 'obsq_jobs_stalled_total',
    help: "Jobs whose lock expired and were moved back to wait (BullMQ 'stalled' event); one per event.",
    labelNames: ['queue'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'obsq_job_duration_seconds',
    help: 'Run time of one job attempt, from start to completion, failure or retry, in seconds.',
    labelNames: ['queue', 'outcome'] as const,
    buckets: JOB_DURATION_BUCKETS,
    registers,
  });
  const inProgress = new Gauge({
    name: 'obsq_jobs_in_progress',
    help: 'Job attempts this worker is running right now.',
    labelNames: ['queue'] as const,
    registers,
  });
  const uploaded = new Counter({
    name: 'obsq_uploaded_bytes_total',
    help: 'Bytes sent to object storage in request bodies (parts, objects); counted when a request succeeds.',
    labelNames: ['queue'] as const,
    registers,
  });
  const copied = new Counter({
    name: 'obsq_copied_bytes_total',
    help: 'Bytes copied server-side by object storage (CopyObject, UploadPartCopy); counted when a copy succeeds.',
    labelNames: ['queue'] as const,
    registers,
  });
  const downloaded = new Counter({
    name: 'obsq_downloaded_bytes_total',
    help: 'Bytes read from object storage or source URLs (e.g. audio to transcribe).',
    labelNames: ['queue'] as const,
    registers,
  });
  const storageRequests = new Counter({
    name: 'obsq_storage_requests_total',
    help: 'Object storage HTTP requests; one per request sent (each retry counts), by status class or network for no response.',
    labelNames: ['operation', 'status_class'] as const,
    registers,
  });
  const storageDuration = new Histogram({
    name: 'obsq_storage_request_duration_seconds',
    help: 'Duration of one object storage HTTP request, from send to the end of the response or error, in seconds.',
    labelNames: ['operation'] as const,
    buckets: STORAGE_REQUEST_BUCKETS,
    registers,
  });
  const throttled = new Counter({
    name: 'obsq_jobs_throttled_total',
    help: 'Job attempts a remote answered with back-pressure (SIS concurrency or rate limit); each put the job back with a delay without spending an attempt.',
    labelNames: ['queue'] as const,
    registers,
  });
  const givenUp = new Counter({
    name: 'obsq_schedule_objects_given_up_total',
    help: 'Object versions a transcription schedule gave up; one per object whose last allowed try failed.',
    registers,
  });
  const engineReplaced = new Counter({
    name: 'obsq_local_engine_replaced_total',
    help: 'Warm local engine processes killed and replaced; one per process, by why.',
    labelNames: ['reason'] as const,
    registers,
  });
  const sisActive = new Gauge({
    name: 'obsq_sis_sessions_active',
    help: 'SIS real-time recognition websocket sessions open in this worker right now.',
    registers,
  });
  const audioSeconds = new Counter({
    name: 'obsq_audio_transcribed_seconds_total',
    help: 'Seconds of audio transcribed; one observation adds one audio file duration.',
    labelNames: ['queue', 'engine'] as const,
    registers,
  });
  const rtf = new Histogram({
    name: 'obsq_transcription_real_time_factor',
    help: 'Real-time factor of one transcribed file: processing seconds divided by audio seconds (below 1 is faster than real time).',
    labelNames: ['queue', 'engine'] as const,
    buckets: REAL_TIME_FACTOR_BUCKETS,
    registers,
  });
  const uploadsOpen = new Gauge({
    name: 'obsq_multipart_uploads_open',
    help: 'Multipart uploads open under the prefix of an abort-stale-uploads schedule, as its last scan saw them (before aborting).',
    labelNames: ['schedule'] as const,
    registers,
  });
  const uploadsAborted = new Counter({
    name: 'obsq_multipart_uploads_aborted_total',
    help: 'Stale multipart uploads an abort-stale-uploads job tried to abort, by outcome (aborted, gone, failed).',
    labelNames: ['schedule', 'outcome'] as const,
    registers,
  });
  const info = new Gauge({
    name: 'obsq_worker_info',
    help: 'Always 1; labels identify the worker build and id.',
    labelNames: ['version', 'worker_id'] as const,
    registers,
  });
  info.set({ version: opts.version ?? OBSQ_VERSION, worker_id: opts.workerId }, 1);

  const reader = new QueueDepthReader(queueSources, opts.queueCountsCacheMs, (queue, err) => {
    opts.logger?.warn({ err, queue }, 'reading queue job counts for metrics failed');
  });
  new Gauge({
    name: 'obsq_queue_jobs',
    help:
      'Jobs in a queue by state, read from Redis at scrape time (cached ~1 s). Queue-global: every worker ' +
      'reports the same value, so aggregate with max by (queue, state), never sum.',
    labelNames: ['queue', 'state'] as const,
    registers,
    async collect() {
      const samples = await reader.read();
      this.reset();
      for (const { name, counts } of samples) {
        if (!counts) continue; // a failed read reports nothing rather than a stale or zero value
        for (const state of QUEUE_DEPTH_STATES) {
          this.set({ queue: queueLabel(name), state }, counts[state] ?? 0);
        }
      }
    },
  });

  // Counters start at 0 for every known queue: a series that first appears at 1 hides that first
  // increment from rate()/increase(), and alerts on rare events (stalls) would miss it.
  for (const queue of METRIC_QUEUES) {
    for (const counter of [completed, attempts, retries, stalled, throttled]) counter.inc({ queue }, 0);
  }

  if (opts.collectDefault) {
    collectDefaultMetrics({ register: opts.register });
    // Gauges named *_total break Prometheus naming (promtool lints them) and each equals the sum
    // of its by-type companion (nodejs_active_handles{type}, …), so drop them.
    for (const name of REDUNDANT_DEFAULT_METRICS) opts.register.removeSingleMetric(name);
  }

  const byteCounters: Record<ByteDirection, Counter<'queue'>> = { uploaded, copied, downloaded };

  return {
    register: opts.register,
    jobStarted(queue) {
      const q = queueLabel(queue);
      attempts.inc({ queue: q });
      inProgress.inc({ queue: q });
    },
    jobFinished(queue, outcome, durationSeconds, errorCode) {
      const q = queueLabel(queue);
      inProgress.dec({ queue: q });
      if (nonNegative(durationSeconds)) duration.observe({ queue: q, outcome }, durationSeconds);
      if (outcome === 'completed') completed.inc({ queue: q });
      else if (outcome === 'failed') failed.inc({ queue: q, error_code: errorCodeLabel(errorCode) });
      else if (outcome === 'throttled') throttled.inc({ queue: q });
      else retries.inc({ queue: q });
    },
    jobStalled(queue) {
      stalled.inc({ queue: queueLabel(queue) });
    },
    bytes(queue, direction, n) {
      if (nonNegative(n)) byteCounters[direction].inc({ queue: queueLabel(queue) }, n);
    },
    storageRequest(operation, statusClass, seconds) {
      const op = operationLabel(operation);
      storageRequests.inc({ operation: op, status_class: STATUS_CLASSES.has(statusClass) ? statusClass : 'network' });
      if (nonNegative(seconds)) storageDuration.observe({ operation: op }, seconds);
    },
    sisSessionOpened() {
      sisActive.inc();
    },
    sisSessionClosed() {
      sisActive.dec();
    },
    uploadsScanned(schedule, open, aborts) {
      const label = SCHEDULE_LABEL.test(schedule) ? schedule : 'other';
      if (nonNegative(open)) uploadsOpen.set({ schedule: label }, open);
      for (const outcome of ['aborted', 'gone', 'failed'] as const) uploadsAborted.inc({ schedule: label, outcome }, Math.max(0, aborts[outcome]));
    },
    audioTranscribed(queue, engine, seconds, realTimeFactor) {
      const labels = { queue: queueLabel(queue), engine: engineLabel(engine) };
      if (nonNegative(seconds)) audioSeconds.inc(labels, seconds);
      if (nonNegative(realTimeFactor)) rtf.observe(labels, realTimeFactor);
    },
    scheduleGivenUp() {
      givenUp.inc();
    },
    engineReplaced(reason) {
      engineReplaced.inc({ reason: ['crashed', 'stuck', 'aborted'].includes(reason) ? reason : 'crashed' });
    },
  };
}
