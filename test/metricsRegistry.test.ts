import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createWorkerMetrics,
  KNOWN_ERROR_CODES,
  METRIC_QUEUES,
  QUEUE_DEPTH_STATES,
  Registry,
  type MetricQueue,
  type QueueCountsSource,
  type WorkerMetrics,
} from '@obsq/worker';
import { STORAGE_OPERATIONS, type StorageOperation } from '@obsq/storage';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/waitFor.js';
import { dashboardExpressions, ensurePromtool, metricNames, promtoolCheckMetrics, ruleExpressions } from './helpers/promql.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Calls every recorder method with every enumerated label value. */
function exercise(m: WorkerMetrics): void {
  for (const q of METRIC_QUEUES) {
    m.jobStarted(q);
    m.jobFinished(q, 'completed', 1.5);
    m.jobStarted(q);
    m.jobFinished(q, 'retried', 0.2, 'OBSQ_NETWORK');
    m.jobStarted(q);
    m.jobFinished(q, 'failed', 3, 'OBSQ_STORAGE');
    m.jobStarted(q); // still in progress
    m.jobStalled(q);
    m.bytes(q, 'uploaded', 5 * 1024 * 1024);
    m.bytes(q, 'copied', 1024);
    m.bytes(q, 'downloaded', 2048);
  }
  for (const op of STORAGE_OPERATIONS) {
    for (const sc of ['2xx', '3xx', '4xx', '5xx', 'network'] as const) m.storageRequest(op, sc, 0.12);
  }
  m.sisSessionOpened();
  m.sisSessionOpened();
  m.sisSessionClosed();
  m.audioTranscribed('transcribe-audio-file', 'sis', 42.5, 0.3);
  m.audioTranscribed('transcribe-audio-file', 'pocketsphinx', 10, 1.7);
  m.uploadsScanned('nightly-ingest', 7, { aborted: 2, gone: 1, failed: 0 });
  m.uploadsScanned('manual', 0, { aborted: 0, gone: 0, failed: 0 });
}

const countsSources = (calls: Map<string, number>): QueueCountsSource[] =>
  METRIC_QUEUES.map((name) => ({
    name,
    async getCounts() {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return { waiting: 3, prioritized: 1, active: 2, delayed: 0, 'waiting-children': 1, failed: 4, completed: 10 };
    },
  }));

describe('createWorkerMetrics', () => {
  beforeAll(ensurePromtool, 300_000);

  it('exposes a scrape that promtool accepts with no lint warnings', async () => {
    const register = new Registry();
    exercise(createWorkerMetrics({ register, workerId: 'w-1', queues: countsSources(new Map()) }));
    const text = await register.metrics();
    const r = await promtoolCheckMetrics(text);
    expect(r.output, `promtool check metrics:\n${r.output}`).toBe('');
    expect(r.code).toBe(0);
    // Default metrics are there, unprefixed, beside the obsq_* ones.
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_p99_seconds');
    expect(text).toMatch(/^obsq_worker_info\{version="[^"]+",worker_id="w-1"\} 1$/m);
  });

  it('records what each method says', async () => {
    const register = new Registry();
    const m = createWorkerMetrics({ register, workerId: 'w-1', collectDefault: false });
    m.jobStarted('upload-part');
    m.jobStarted('upload-part');
    m.jobFinished('upload-part', 'failed', 2, 'OBSQ_STORAGE');
    m.bytes('upload-part', 'uploaded', 100);
    m.bytes('upload-part', 'uploaded', -5); // ignored, counters never go down
    m.storageRequest('UploadPart', '5xx', 0.5);
    m.audioTranscribed('transcribe-audio-file', 'sis', 60, 0.25);
    const json = await register.getMetricsAsJSON();
    // Histogram samples sit under the family name with their own metricName (`…_count`).
    const value = (name: string, labels: Record<string, string> = {}) =>
      json
        .flatMap((x) => x.values.map((v) => ({ ...v, metricName: (v as { metricName?: string }).metricName ?? x.name })))
        .find((v) => v.metricName === name && Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value;
    expect(value('obsq_job_attempts_total', { queue: 'upload-part' })).toBe(2);
    expect(value('obsq_jobs_in_progress', { queue: 'upload-part' })).toBe(1);
    expect(value('obsq_jobs_failed_total', { queue: 'upload-part', error_code: 'OBSQ_STORAGE' })).toBe(1);
    expect(value('obsq_jobs_completed_total', { queue: 'upload-part' })).toBe(0);
    expect(value('obsq_jobs_stalled_total', { queue: 'copy-object' })).toBe(0); // pre-initialised
    expect(value('obsq_uploaded_bytes_total', { queue: 'upload-part' })).toBe(100);
    expect(value('obsq_storage_requests_total', { operation: 'UploadPart', status_class: '5xx' })).toBe(1);
    expect(value('obsq_audio_transcribed_seconds_total', { engine: 'sis' })).toBe(60);
    expect(value('obsq_job_duration_seconds_count', { queue: 'upload-part', outcome: 'failed' })).toBe(1);
    // Nothing registered in a registry that was not given.
    expect(json.some((x) => x.name.startsWith('process_'))).toBe(false);
  });

  it('refuses a second registration in the same registry and a bad workerId', () => {
    const register = new Registry();
    createWorkerMetrics({ register, workerId: 'w', collectDefault: false });
    expect(() => createWorkerMetrics({ register, workerId: 'w', collectDefault: false })).toThrow(/already/);
    expect(() => createWorkerMetrics({ register: new Registry(), workerId: '' })).toThrow(/workerId/);
  });

  it('never lets a job id, key or bucket into a label: unknown values become other', async () => {
    const register = new Registry();
    const m = createWorkerMetrics({ register, workerId: 'w-1', queues: countsSources(new Map()) });
    exercise(m);
    const secret = randomUUID();
    const jobId = `job-${secret}`;
    m.jobStarted(jobId as MetricQueue);
    m.jobFinished(jobId as MetricQueue, 'failed', 1, `NoSuchKey:${secret}`);
    m.jobFinished('upload-part', 'failed', 1, jobId);
    m.bytes(`my-bucket/${secret}` as MetricQueue, 'copied', 10);
    m.storageRequest(`PutObject ${secret}` as StorageOperation, '2xx', 0.1);
    m.storageRequest('GetObject', secret as '2xx', 0.1);
    m.audioTranscribed('transcribe-audio-file', `Engine ${secret}`, 1, 1);
    m.uploadsScanned(`bucket/${secret} key`, 1, { aborted: 1, gone: 0, failed: 0 });
    const text = await register.metrics();
    expect(text).not.toContain(secret);

    const allowed: Record<string, (v: string) => boolean> = {
      queue: (v) => (METRIC_QUEUES as readonly string[]).includes(v) || v === 'other',
      state: (v) => (QUEUE_DEPTH_STATES as readonly string[]).includes(v),
      outcome: (v) => ['completed', 'failed', 'retried', 'aborted', 'gone'].includes(v),
      schedule: (v) => ['nightly-ingest', 'manual', 'other'].includes(v),
      error_code: (v) => KNOWN_ERROR_CODES.has(v) || v === 'other',
      operation: (v) => (STORAGE_OPERATIONS as readonly string[]).includes(v) || v === 'other',
      status_class: (v) => ['2xx', '3xx', '4xx', '5xx', 'network'].includes(v),
      engine: (v) => ['sis', 'pocketsphinx', 'other'].includes(v),
      le: (v) => v === '+Inf' || Number.isFinite(Number(v)),
    };
    for (const metric of await register.getMetricsAsJSON()) {
      if (!metric.name.startsWith('obsq_')) continue;
      for (const { labels } of metric.values) {
        for (const [name, value] of Object.entries(labels)) {
          if (metric.name === 'obsq_worker_info') continue; // version and worker_id: one series per process
          expect(allowed[name], `unexpected label ${name} on ${metric.name}`).toBeDefined();
          expect(allowed[name]!(String(value)), `${metric.name}{${name}="${value}"}`).toBe(true);
        }
      }
    }
  });
});

describe('obsq_queue_jobs', () => {
  it('reads counts at scrape time, at most once per second per queue, one read for concurrent scrapes', async () => {
    const register = new Registry();
    const calls: number[] = [];
    createWorkerMetrics({
      register,
      workerId: 'w-1',
      collectDefault: false,
      queues: [
        {
          name: 'upload-part',
          async getCounts() {
            calls.push(performance.now());
            return { waiting: calls.length };
          },
        },
      ],
    });
    expect(calls).toHaveLength(0); // nothing read before a scrape
    await Promise.all([register.metrics(), register.metrics(), register.metrics()]);
    expect(calls).toHaveLength(1);
    for (let i = 0; i < 5; i++) await register.metrics();
    await waitFor(
      async () => {
        await register.getSingleMetricAsString('obsq_queue_jobs');
        return calls.length >= 3;
      },
      { intervalMs: 20, what: 'three reads of the counts' },
    );
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i]! - calls[i - 1]!, 'gap between two reads').toBeGreaterThanOrEqual(1000);
    }
    const text = await register.getSingleMetricAsString('obsq_queue_jobs');
    expect(text).toMatch(/obsq_queue_jobs\{queue="upload-part",state="waiting"\} [1-9]/);
    expect(text).toContain('obsq_queue_jobs{queue="upload-part",state="waiting-children"} 0');
  });

  it('omits a queue whose read failed and logs a warning, without failing the scrape', async () => {
    const register = new Registry();
    const warnings: unknown[] = [];
    createWorkerMetrics({
      register,
      workerId: 'w-1',
      collectDefault: false,
      logger: { warn: (...args: unknown[]) => warnings.push(args) },
      queues: [
        { name: 'upload-part', getCounts: () => Promise.reject(new Error('ECONNREFUSED')) },
        { name: 'copy-object', getCounts: async () => ({ waiting: 7 }) },
      ],
    });
    const text = await register.metrics();
    expect(text).not.toContain('queue="upload-part",state=');
    expect(text).toContain('obsq_queue_jobs{queue="copy-object",state="waiting"} 7');
    expect(warnings).toHaveLength(1);
  });

  describe('with a real BullMQ queue', () => {
    let redis: TestRedis;
    let queue: Queue;

    beforeAll(async () => {
      // Imported here so the Redis-free tests above don't depend on the devstack package loading.
      const { startRedis } = await import('./helpers/redis.js');
      redis = await startRedis();
      queue = new Queue('upload-part', { connection: { url: redis.url }, prefix: `test-${randomUUID()}` });
      queue.on('error', (err) => {
        throw err;
      });
    });
    afterAll(async () => {
      await queue?.close();
      await redis?.stop();
    });

    it('reports getJobCounts(...QUEUE_DEPTH_STATES) per state', async () => {
      await queue.add('upload-part', { n: 1 });
      await queue.add('upload-part', { n: 2 });
      await queue.add('upload-part', { n: 3 }, { delay: 60_000 });
      await queue.add('upload-part', { n: 4 }, { priority: 5 });
      const register = new Registry();
      createWorkerMetrics({
        register,
        workerId: 'w-1',
        collectDefault: false,
        queues: [{ name: 'upload-part', getCounts: () => queue.getJobCounts(...QUEUE_DEPTH_STATES) }],
      });
      const text = await register.getSingleMetricAsString('obsq_queue_jobs');
      expect(text).toContain('obsq_queue_jobs{queue="upload-part",state="waiting"} 2');
      expect(text).toContain('obsq_queue_jobs{queue="upload-part",state="delayed"} 1');
      expect(text).toContain('obsq_queue_jobs{queue="upload-part",state="prioritized"} 1');
      expect(text).toContain('obsq_queue_jobs{queue="upload-part",state="active"} 0');
    });
  });
});

// ---- every metric named by the dashboard and the alerts exists ------------------------------



describe('dashboard and alert PromQL', () => {
  it('the extractor finds metric names and nothing else', () => {
    expect(metricNames('sum by (queue) (rate(obsq_nope_total{job="x", a=~"b|c"}[$__rate_interval])) / 1e3 > 0.5')).toEqual([
      'obsq_nope_total',
    ]);
    expect(metricNames('deriv((sum by (q) (max by (q, s) (m_a{s="w"})))[15m:1m]) > 0 and absent(up{job="j"})')).toEqual([
      'm_a',
      'up',
    ]);
  });

  it('names only metrics the registry defines (plus Prometheus up)', async () => {
    const register = new Registry();
    exercise(createWorkerMetrics({ register, workerId: 'w-1', queues: countsSources(new Map()) }));
    const known = new Set<string>(['up']);
    for (const m of await register.getMetricsAsJSON()) {
      known.add(m.name);
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) known.add(m.name + s);
    }
    const alerts = ruleExpressions(await readFile(join(root, 'deploy/prometheus/alerts.yml'), 'utf8'));
    const panels = dashboardExpressions(JSON.parse(await readFile(join(root, 'deploy/grafana/obsq-dashboard.json'), 'utf8')));
    expect(alerts.length).toBeGreaterThanOrEqual(5);
    expect(panels.length).toBeGreaterThanOrEqual(15);
    const used = new Set<string>();
    for (const expr of [...alerts, ...panels]) {
      const names = metricNames(expr);
      expect(names.length, `no metric found in ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        used.add(name);
        expect(known.has(name), `${name} (in ${expr.trim()}) is not defined by the registry`).toBe(true);
      }
    }
    expect(used).toContain('obsq_queue_jobs');
    expect(used).toContain('nodejs_eventloop_lag_p99_seconds');
  });
});
