import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnginePool, transcribe, transcribePcm, type EngineReplaceReason, type TranscriptionResult } from '@obsq/speech';
import type { TranscriptRecordBody } from '@obsq/worker';
import { startStack, type Stack } from './helpers/stack.js';
import { waitFor } from './helpers/waitFor.js';

// Issue 15: warm engines. One PocketSphinx process per slot loads its model once and decodes job
// after job with the same results as a fresh `pocketsphinx_continuous` per file; a crashed or stuck
// engine is killed and replaced, and its job still succeeds.
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
const GOFORWARD = '/usr/share/pocketsphinx/test/data/goforward.raw';
const REQUEST = { audioFormat: 'pcm16k16bit', property: 'english_16k_common', needWordInfo: true };
const run = promisify(execFile);

let clips: string[];
let pool: EnginePool;
const replaced: EngineReplaceReason[] = [];

beforeAll(async () => {
  // The three shortest clips (2.99 s, 3.29 s, 5.3 s) keep the order test quick; 0870 (7.1 s) is the long one.
  const all = (await readdir(LIBRIVOX)).filter((f) => f.endsWith('.wav')).sort().map((f) => join(LIBRIVOX, f));
  clips = [all[1]!, all[4]!, all[2]!, all[0]!];
  pool = await EnginePool.create({ size: 1, onReplaced: (r) => replaced.push(r) });
});

afterAll(async () => {
  await pool?.close();
});

const local = (audio: string, withPool: boolean, extra: { onProgress?: (f: number) => void; signal?: AbortSignal } = {}): Promise<TranscriptionResult> =>
  transcribe({ audio, request: REQUEST, engine: 'local', ...(withPool ? { local: { pool } } : {}), ...extra });

/** Calls `act` once, when a transcription has fed the engine a quarter of its audio. */
function atQuarter(act: () => void): (fraction: number) => void {
  let done = false;
  return (fraction) => {
    if (done || fraction < 0.25) return;
    done = true;
    act();
  };
}

describe('issue 15: warm engine pool', () => {
  it('one warm engine gives, job after job and in any order, exactly what a fresh engine per file gives', async () => {
    const fresh = new Map<string, unknown>();
    const three = clips.slice(0, 3);
    for (const clip of three) fresh.set(clip, (await local(clip, false)).segments);
    for (const order of [three, [...three].reverse()]) {
      for (const clip of order) expect((await local(clip, true)).segments, clip).toEqual(fresh.get(clip));
    }
    expect(pool.size).toBe(1);
    expect(replaced).toEqual([]);
  }, 120_000);

  it('an engine killed mid-job is replaced and the job is decoded again on the fresh one', async () => {
    const expected = (await local(clips[3]!, true)).segments;
    const [pid] = pool.pids;
    // Kill it while it decodes (the job holds the only engine).
    const job = local(clips[3]!, true, { onProgress: atQuarter(() => process.kill(pid!, 'SIGKILL')) });
    expect((await job).segments).toEqual(expected);
    expect(replaced).toEqual(['crashed']);
    expect(pool.pids).not.toContain(pid);
    expect(pool.size).toBe(1);
  }, 60_000);

  it('a stuck engine is killed when the job times out, and replaced', async () => {
    const pcm = await readFile(GOFORWARD);
    replaced.length = 0;
    const [pid] = pool.pids;
    process.kill(pid!, 'SIGSTOP');
    await expect(transcribePcm({ pcm, sampleRate: 16000, pool, timeoutMs: 1_500 })).rejects.toMatchObject({ code: 'OBSQ_TIMEOUT' });
    await waitFor(() => replaced.length === 1 && pool.size === 1, { what: 'the stuck engine replaced' });
    expect(replaced).toEqual(['stuck']);
    const segs = await transcribePcm({ pcm, sampleRate: 16000, pool });
    expect(segs.map((s) => s.result.text).join(' ')).toBe('go forward ten meters');
  }, 60_000);

  it('an aborted job kills its engine; the next job gets a fresh one', async () => {
    replaced.length = 0;
    const [pid] = pool.pids;
    const controller = new AbortController();
    const aborted = local(clips[3]!, true, { signal: controller.signal, onProgress: atQuarter(() => controller.abort()) });
    await expect(aborted).rejects.toMatchObject({ code: 'OBSQ_ABORTED' });
    await waitFor(() => replaced.length === 1 && pool.size === 1, { what: 'the aborted engine replaced' });
    expect(replaced).toEqual(['aborted']);
    expect(pool.pids).not.toContain(pid);
    expect((await local(clips[1]!, true)).text.length).toBeGreaterThan(0);
  }, 60_000);
});

describe('issue 15: a worker engine killed mid-job', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ buckets: ['audio'], workers: 1 });
    await stack.storage.putObject({ bucket: 'audio', key: 'long.wav', body: await readFile(clips[3]!) });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('is replaced and the job succeeds', async () => {
    const worker = stack.workers[0]!;
    const enginePids = async () => {
      const { stdout } = await run('ps', ['--ppid', String(worker.child.pid), '-o', 'pid=,comm=']);
      return stdout.split('\n').filter((l) => /obsqSphinx/.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
    };
    const enq = await stack.producer.enqueueTranscription({ audio: { bucket: 'audio', key: 'long.wav' }, request: REQUEST, engine: 'local' });
    // Mid-job: the engine has been fed part of the audio (the job reports it as progress).
    const queue = stack.producer.queue('transcribe-audio-file');
    await waitFor(async () => {
      const progress = (await queue.getJob(enq.jobId))?.progress as { fraction?: number } | undefined;
      return (progress?.fraction ?? 0) > 0;
    }, { intervalMs: 20, what: 'the job to be decoding' });
    const [victim] = await waitFor(async () => {
      const pids = await enginePids();
      return pids.length > 0 ? pids : undefined;
    }, { intervalMs: 20, what: 'a warm engine in the worker' });
    process.kill(victim!, 'SIGKILL');
    const rec = await stack.producer.waitForResult<TranscriptRecordBody>(enq.jobId, { timeoutMs: 60_000 });
    expect(rec?.result.status, JSON.stringify(rec?.result)).toBe(200);
    expect(rec?.result.body?.text).toMatch(/mister john|mr john/);
    expect(await enginePids()).not.toContain(victim);
    const metrics = await (await fetch(`${worker.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/^obsq_local_engine_replaced_total\{reason="crashed"\} 1$/m);
  }, 120_000);
});
