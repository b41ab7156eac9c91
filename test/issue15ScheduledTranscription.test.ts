import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TranscriptionScheduleStatus } from '@obsq/producer';
import { scheduleStateKey, scheduleTicksKey } from '@obsq/shared';
import { startStack, type Stack } from './helpers/stack.js';
import { runObsq } from './helpers/cli.js';
import { waitFor } from './helpers/waitFor.js';

// Issue 15: done means transcribed (failed objects come back on later ticks, then given-up), and
// quiet ticks write nothing.
const GOFORWARD = '/usr/share/pocketsphinx/test/data/goforward.raw';
const REQUEST = { audioFormat: 'pcm16k16bit', property: 'english_16k_common' };

let stack: Stack;
let audio: Buffer;

async function status(id: string): Promise<TranscriptionScheduleStatus> {
  const st = await stack.producer.transcriptionScheduleStatus(id);
  if (!st) throw new Error(`no schedule ${id}`);
  return st;
}

/** Stream entries so far, by queue. */
async function streamCount(queue: string): Promise<number> {
  const entries = await stack.producerRedis.xrange(stack.producer.results.streamKey, '-', '+');
  return entries.filter(([, f]) => f[f.indexOf('queue') + 1] === queue).length;
}

beforeAll(async () => {
  // `late-out` does not exist at first: every transcription into it fails for good (NoSuchBucket).
  stack = await startStack({ buckets: ['media', 'outbox'], workers: 1, env: { OBSQ_SCHEDULE_MIN_INTERVAL: '1s' } });
  audio = await readFile(GOFORWARD);
});

afterAll(async () => {
  await stack?.close();
});

describe('issue 15: scheduled transcription you can trust', () => {
  it('an object whose first transcription fails for good is retried by later ticks and ends done once it succeeds', async () => {
    await stack.storage.putObject({ bucket: 'media', key: 'calls/a.raw', body: audio });
    await stack.producer.scheduleTranscriptions({
      id: 'recover',
      cron: '* * * * * *',
      bucket: 'media',
      prefix: 'calls/',
      suffixes: ['.raw'],
      request: REQUEST,
      output: { bucket: 'late-out', prefix: 't/', formats: ['txt'] },
      engine: 'local',
      retryDelayMs: 1_000,
      maxTries: 10,
    });
    // The first try fails permanently (the output bucket is missing): the object is failed, not done.
    const failed = await waitFor(async () => {
      const st = await status('recover');
      return st.counts.failed === 1 || st.counts.pending === 1 && st.lastErrors.length > 0 ? st : undefined;
    }, { timeoutMs: 30_000, what: 'the first try to fail' });
    expect(failed.counts.done).toBe(0);
    expect(failed.lastErrors[0]).toMatchObject({ bucket: 'media', key: 'calls/a.raw', try: 1, code: 'NoSuchBucket', givenUp: false });

    // The cause goes away; a later tick re-enqueues (growing delay) and the object ends done.
    await stack.storage.createBucket({ bucket: 'late-out' });
    const done = await waitFor(async () => {
      const st = await status('recover');
      return st.counts.done === 1 ? st : undefined;
    }, { timeoutMs: 40_000, what: 'the object to be done' });
    expect(done.counts).toEqual({ done: 1, pending: 0, failed: 0, 'given-up': 0 });
    const state = JSON.parse((await stack.producerRedis.hget(scheduleStateKey(`{${stack.env.OBSQ_PREFIX}}`, 'recover'), 'media/calls/a.raw'))!) as { tries: number; status: string };
    expect(state.status).toBe('done');
    expect(state.tries).toBeGreaterThanOrEqual(2);
    const txt = await stack.storage.getObject({ bucket: 'late-out', key: 't/a.txt' });
    const chunks: Buffer[] = [];
    for await (const c of txt.body!.response) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString('utf8')).toBe('go forward ten meters\n');
    expect(await stack.producer.removeTranscriptionSchedule('recover', { forget: true })).toBe(true);
  });

  it('gives an object up after --max-tries failed tries and counts it; obsq schedule show reports it', async () => {
    await stack.storage.putObject({ bucket: 'media', key: 'lost/b.raw', body: audio });
    const made = await runObsq(
      ['schedule', 'transcriptions', '--id', 'give-up', '--cron', '* * * * * *', 'obs://media/lost/', '--out', 'obs://never-there/t/',
        '--engine', 'local', '--property', 'english_16k_common', '--audio-format', 'pcm16k16bit', '--suffix', '.raw', '--format', 'txt',
        '--max-tries', '2', '--retry-delay-ms', '1000', '--json'],
      stack.env,
    );
    expect(made.code, made.stderr).toBe(0);
    await waitFor(async () => (await status('give-up')).counts['given-up'] === 1, { timeoutMs: 40_000, what: 'the object to be given up' });
    const shown = await runObsq(['schedule', 'show', 'give-up', '--json'], stack.env);
    expect(shown.code, shown.stderr).toBe(0);
    const st = JSON.parse(shown.stdout) as TranscriptionScheduleStatus;
    expect(st.counts).toEqual({ done: 0, pending: 0, failed: 0, 'given-up': 1 });
    expect(st.lastErrors.map((e) => [e.try, e.givenUp, e.code])).toEqual([[2, true, 'NoSuchBucket'], [1, false, 'NoSuchBucket']]);
    expect(st.lastTickAt).toBeGreaterThan(Date.now() - 10_000);
    expect(st.nextTickAt).toBeGreaterThan(Date.now() - 2_000);
    const text = await runObsq(['schedule', 'show', 'give-up'], stack.env);
    expect(text.stdout).toMatch(/objects: done 0, pending 0, failed 0, given-up 1 {2}\(max tries 2\)/);
    expect(text.stdout).toMatch(/obs:\/\/media\/lost\/b\.raw try 2 \(given up\): NoSuchBucket/);
    expect((await runObsq(['schedule', 'show', 'nope'], stack.env)).code).toBe(1);
    // Given up stays given up: ticks go on without enqueueing it again.
    const tries = (await stack.producer.queue('transcribe-audio-file').getJobCounts('failed')).failed;
    const ticks = st.ticks;
    await waitFor(async () => (await status('give-up')).ticks >= ticks + 2, { timeoutMs: 15_000, what: '2 more ticks' });
    expect((await stack.producer.queue('transcribe-audio-file').getJobCounts('failed')).failed).toBe(tries);
    const metrics = await (await fetch(`${stack.workers[0]!.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/^obsq_schedule_objects_given_up_total 1$/m);
    expect(await stack.producer.removeTranscriptionSchedule('give-up', { forget: true })).toBe(true);
  });

  it('a quiet tick writes no record', async () => {
    await stack.storage.putObject({ bucket: 'media', key: 'quiet/c.raw', body: audio });
    await stack.producer.scheduleTranscriptions({
      id: 'quiet',
      cron: '* * * * * *',
      bucket: 'media',
      prefix: 'quiet/',
      suffixes: ['.raw'],
      request: REQUEST,
      output: { bucket: 'outbox', prefix: 'q/', formats: ['txt'] },
      engine: 'local',
    });
    await waitFor(async () => (await status('quiet')).counts.done === 1, { timeoutMs: 30_000, what: 'the object to be done' });
    const ticksBefore = await streamCount('scan-transcriptions');
    const transcriptionsBefore = await streamCount('transcribe-audio-file');
    const before = (await status('quiet')).ticks;
    await waitFor(async () => (await status('quiet')).ticks >= before + 3, { timeoutMs: 15_000, what: '3 more ticks' });
    expect(await streamCount('scan-transcriptions')).toBe(ticksBefore);
    expect(await streamCount('transcribe-audio-file')).toBe(transcriptionsBefore);
    expect(await stack.producerRedis.hget(scheduleTicksKey(`{${stack.env.OBSQ_PREFIX}}`, 'quiet'), 'lastEnqueued')).toBe('0');
    expect(await stack.producer.removeTranscriptionSchedule('quiet', { forget: true })).toBe(true);
  });
});
