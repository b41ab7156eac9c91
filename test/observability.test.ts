import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/redis.js';
import { dashboardExpressions, ensurePromtool, metricNames, promtoolCheckMetrics, ruleExpressions } from './helpers/promql.js';
import { sha256File, sha256Object, startStack, type Stack } from './helpers/stack.js';
import { waitFor } from './helpers/waitFor.js';

const MiB = 1024 * 1024;
const REPO = join(import.meta.dirname, '..');

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await request(url);
  return { status: res.statusCode, text: await res.body.text() };
}

/** A real Prometheus on loopback with temporary storage, scraping `targets` every second. */
async function startPrometheus(targets: string[]): Promise<{ url: string; query(q: string): Promise<number | undefined>; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'obsq-prom-'));
  const port = await freePort();
  const config = [
    'global: { scrape_interval: 1s, evaluation_interval: 1s }',
    'scrape_configs:',
    '  - job_name: obsq-worker',
    '    static_configs:',
    `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config);
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: 'ignore' },
  );
  const exited = new Promise((r) => child.once('exit', r));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await get(`${url}/-/ready`)).status === 200, { timeoutMs: 30_000, what: 'prometheus ready' });
  return {
    url,
    async query(q) {
      const res = await get(`${url}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = JSON.parse(res.text) as { data?: { result?: Array<{ value: [number, string] }> } };
      const v = body.data?.result?.[0]?.value[1];
      return v === undefined ? undefined : Number(v);
    },
    async close() {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let stack: Stack | undefined;
beforeAll(() => ensurePromtool());
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('metrics seen by their real consumers', () => {
  it('Prometheus scrapes two workers during an upload, a copy and a transcription; PromQL counts them; promtool accepts the scrape', async () => {
    stack = await startStack({ workers: 2 });
    const prom = await startPrometheus(stack.workers.map((w) => new URL(w.metricsUrl).host));
    try {
      await waitFor(async () => (await prom.query('count(up{job="obsq-worker"} == 1)')) === 2, { timeoutMs: 30_000, what: 'both workers up' });
      const path = join(stack.dir, 'observed.bin');
      await writeFile(path, randomBytes(12 * MiB));
      const up = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'observed.bin', partSize: MiB });
      expect((await stack.producer.waitForResult(up.jobId, { timeoutMs: 60_000 })).result.status).toBe(200);
      const cp = await stack.producer.enqueueCopy({ source: { bucket: 'ingest', key: 'observed.bin' }, target: { bucket: 'ingest', key: 'observed-copy.bin' } });
      expect((await stack.producer.waitForResult(cp.jobId, { timeoutMs: 60_000 })).result.status).toBe(200);

      // A transcription too (local engine), so the scrape below covers all three kinds of work.
      const raw = await readFile('/usr/share/pocketsphinx/test/data/goforward.raw');
      await stack.storage.putObject({ bucket: 'ingest', key: 'audio/goforward.raw', body: raw });
      const tr = await stack.producer.enqueueTranscription({
        audio: { bucket: 'ingest', key: 'audio/goforward.raw' },
        request: { audioFormat: 'pcm16k16bit', property: 'english_16k_general' },
        output: { bucket: 'ingest', prefix: 'transcripts/', formats: ['srt'] },
        engine: 'local',
      });
      const trRec = await stack.producer.waitForResult<{ text: string }>(tr.jobId, { timeoutMs: 60_000 });
      expect(trRec.result.body?.text).toBe('go forward ten meters');

      await waitFor(async () => (await prom.query('sum(obsq_jobs_completed_total{queue="upload-part"})')) === 12, {
        timeoutMs: 30_000,
        what: 'completed parts in Prometheus',
      });
      const eventually = (q: string, v: number) => waitFor(async () => (await prom.query(q)) === v, { timeoutMs: 30_000, what: `${q} == ${v}` });
      await eventually('sum(obsq_uploaded_bytes_total{queue="upload-part"})', 12 * MiB);
      await eventually('sum(obsq_jobs_completed_total{queue="complete-multipart"})', 1);
      await eventually('sum(obsq_jobs_completed_total{queue="copy-object"})', 1);
      await eventually('sum(obsq_jobs_completed_total{queue="transcribe-audio-file"})', 1);
      expect(await prom.query('sum(obsq_audio_transcribed_seconds_total)')).toBeCloseTo(2.786, 1);
      await waitFor(async () => (await prom.query('sum(obsq_copied_bytes_total)')) === 12 * MiB, { timeoutMs: 30_000, what: 'copied bytes' });
      // Both workers did part of the work.
      expect(await prom.query('count(obsq_jobs_completed_total{queue="upload-part"} > 0)')).toBe(2);
      // Queue depth is reported by every worker: max by, not sum, is the right aggregation.
      await waitFor(async () => (await prom.query('max by (queue) (obsq_queue_jobs{queue="upload-part", state="completed"})')) === 12, {
        timeoutMs: 30_000,
        what: 'queue depth of completed parts',
      });

      const scrape = await get(`${stack.workers[0]!.metricsUrl}/metrics`);
      expect(scrape.status).toBe(200);
      const check = await promtoolCheckMetrics(scrape.text);
      expect(check.output).toBe('');
      expect(check.code).toBe(0);

      // Every metric the dashboard and the alerts use exists in a real scrape.
      // A metric exists when the scrape declares it (`# TYPE`), even before its first labelled sample.
      const scraped = new Set<string>(['up']);
      for (const [, name, type] of scrape.text.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/gm)) {
        scraped.add(name!);
        if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) scraped.add(`${name}${suffix}`);
      }
      const dashboard = JSON.parse(await readFile(join(REPO, 'deploy/grafana/obsq-dashboard.json'), 'utf8')) as unknown;
      const alerts = await readFile(join(REPO, 'deploy/prometheus/alerts.yml'), 'utf8');
      const used = [...dashboardExpressions(dashboard), ...ruleExpressions(alerts)].flatMap(metricNames);
      expect(used.length).toBeGreaterThan(10);
      expect(used.filter((n) => !scraped.has(n))).toEqual([]);
    } finally {
      await prom.close();
    }
  });

  it('SIGTERM during an upload: /readyz turns 503, the worker exits 0 within the timeout, another worker finishes the parts', async () => {
    stack = await startStack({ workers: 0, faults: [{ op: 'UploadPart', latencyMs: 1500 }] });
    const victim = await stack.startWorker({ OBSQ_SHUTDOWN_TIMEOUT_MS: '1000', OBSQ_CONCURRENCY_UPLOAD_PART: '2' });
    expect((await get(`${victim.metricsUrl}/readyz`)).status).toBe(200);
    expect((await get(`${victim.metricsUrl}/healthz`)).status).toBe(200);
    const path = join(stack.dir, 'drain.bin');
    await writeFile(path, randomBytes(8 * MiB));
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'drain.bin', partSize: MiB });
    // The devstack holds each UploadPart for its latency: a counted request is a part in flight.
    await waitFor(() => (stack!.devstack.stats().operations.UploadPart?.requests ?? 0) > 0, { what: 'a part in flight' });
    const t0 = Date.now();
    victim.child.kill('SIGTERM');
    await waitFor(async () => (await get(`${victim.metricsUrl}/readyz`).catch(() => ({ status: 503 }))).status === 503, { what: 'readyz 503' });
    expect(await victim.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    // The drain deadline (1 s) passed with a part still held by the server (1.5 s): it was aborted.
    expect(victim.output()).toMatch(/shutdown deadline reached: aborting in-flight jobs/);
    await stack.startWorker();
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 120_000 });
    expect(rec.result.status).toBe(200);
    expect(await sha256Object(stack.storage, 'ingest', 'drain.bin')).toBe(await sha256File(path));
  });

  it('a second SIGTERM forces the exit at once with 128 + signo, and the parts still finish elsewhere', async () => {
    stack = await startStack({ workers: 0, faults: [{ op: 'UploadPart', latencyMs: 5000 }] });
    const victim = await stack.startWorker({ OBSQ_SHUTDOWN_TIMEOUT_MS: '60000' });
    const path = join(stack.dir, 'forced.bin');
    await writeFile(path, randomBytes(3 * MiB));
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key: 'forced.bin', partSize: MiB });
    // The devstack holds each UploadPart for its latency: a counted request is a part in flight.
    await waitFor(() => (stack!.devstack.stats().operations.UploadPart?.requests ?? 0) > 0, { what: 'a part in flight' });
    victim.child.kill('SIGTERM');
    await waitFor(() => victim.output().includes('shutdown started'), { what: 'graceful shutdown begun' });
    const t0 = Date.now();
    victim.child.kill('SIGTERM');
    const code = await victim.exited;
    expect(code).toBe(143);
    expect(Date.now() - t0).toBeLessThan(5_000);
    await stack.startWorker();
    expect((await stack.producer.waitForResult(enq.jobId, { timeoutMs: 120_000 })).result.status).toBe(200);
    expect(await sha256Object(stack.storage, 'ingest', 'forced.bin')).toBe(await sha256File(path));
  });
});
