import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TranscriptRecordBody } from '@obsq/worker';
import { startStack, type Stack } from './helpers/stack.js';
import { waitFor } from './helpers/waitFor.js';

// Issue 15: a SIS "too busy" answer puts the job back with a delay without spending an attempt.
const GOFORWARD = '/usr/share/pocketsphinx/test/data/goforward.raw';
const REQUEST = { audioFormat: 'pcm16k16bit', property: 'english_16k_common' };

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ buckets: ['audio'], sis: { idleTimeoutMs: 10_000 }, workers: 1 });
  await stack.storage.putObject({ bucket: 'audio', key: 'in/goforward.raw', body: await readFile(GOFORWARD) });
});

afterAll(async () => {
  await stack?.close();
});

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${stack.workers[0]!.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').at(-1)) : NaN;
}

describe('issue 15: back-pressure is not failure', () => {
  it('SIS answering 429 and 503 with Retry-After more often than the job has attempts: no attempt spent, the job succeeds', async () => {
    // transcribe-audio-file has 5 attempts: 6 throttled handshakes would fail it if they counted.
    stack.devstack.sis!.setFaults({ throttle: { status: 429, retryAfterSeconds: 1, connections: 4 } });
    const enq = await stack.producer.enqueueTranscription({ audio: { bucket: 'audio', key: 'in/goforward.raw' }, request: REQUEST, engine: 'sis' });
    const throttledSeries = 'obsq_jobs_throttled_total{queue="transcribe-audio-file"}';
    // Switch to 503 half-way: both statuses are back-pressure.
    await waitFor(async () => (await metric(throttledSeries)) >= 4, { timeoutMs: 30_000, what: '4 throttled attempts' });
    stack.devstack.sis!.setFaults({ throttle: { status: 503, retryAfterSeconds: 1, connections: 2 } });
    const rec = await stack.producer.waitForResult<TranscriptRecordBody>(enq.jobId, { timeoutMs: 60_000 });
    expect(rec?.result.status, JSON.stringify(rec?.result)).toBe(200);
    expect(rec?.result.body?.text).toBe('go forward ten meters');
    expect(rec?.attempts).toBe(1);
    const job = await stack.producer.queue('transcribe-audio-file').getJob(enq.jobId);
    expect(job?.attemptsMade ?? 0).toBeLessThanOrEqual(1);
    expect(await metric(throttledSeries)).toBe(6);
    expect(await metric('obsq_job_retries_total{queue="transcribe-audio-file"}')).toBe(0);
    expect(stack.workers[0]!.output()).toMatch(/throttled by a remote; back in \d+ ms without spending an attempt/);
    stack.devstack.sis!.setFaults({});
  });
});
