import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError, type StoredResult } from '@obsq/shared';
import type { ScanRecordBody } from '@obsq/worker';
import { startStack, type Stack } from './helpers/stack.js';
import { runObsq, type ObsqRun } from './helpers/cli.js';
import { waitFor } from './helpers/waitFor.js';

const GOFORWARD = '/usr/share/pocketsphinx/test/data/goforward.raw';
const REQUEST = { audioFormat: 'pcm16k16bit', property: 'english_16k_common' };

let stack: Stack;
let audio: Buffer;

/** What the results stream holds so far: transcriptions (by audio key) and schedule ticks. */
async function history(): Promise<{ transcribed: string[]; ticks: number }> {
  const entries = await stack.producerRedis.xrange(stack.producer.results.streamKey, '-', '+');
  const transcribed: string[] = [];
  let ticks = 0;
  for (const [, fields] of entries) {
    const f = new Map<string, string>();
    for (let i = 0; i < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
    if (f.get('queue') === 'scan-transcriptions') {
      ticks++;
      const body = (JSON.parse(f.get('record')!) as StoredResult<ScanRecordBody>).result.body;
      transcribed.push(...(body?.enqueued.map((e) => `${e.key}@${e.etag}`) ?? []));
    }
  }
  return { transcribed, ticks };
}

/** Completed transcription records, by audio key. */
async function finishedTranscriptions(): Promise<number> {
  const entries = await stack.producerRedis.xrange(stack.producer.results.streamKey, '-', '+');
  return entries.filter(([, f]) => f[3] === 'transcribe-audio-file' && f[5] === '200').length;
}

/** Ticks of a schedule so far (quiet ticks write no record, so the schedule's own count is read). */
async function ticksOf(id: string): Promise<number> {
  return (await stack.producer.transcriptionScheduleStatus(id))?.ticks ?? 0;
}

/** Waits until `n` more ticks have run, so a duplicate would have had its chance to appear. */
async function moreTicks(n: number, id = 'every-second'): Promise<void> {
  const start = await ticksOf(id);
  await waitFor(async () => (await ticksOf(id)) >= start + n, { timeoutMs: 15_000, what: `${n} more schedule ticks` });
}

function cli(args: string[]): Promise<ObsqRun> {
  return runObsq(args, stack.env);
}

beforeAll(async () => {
  // Local engine: what is transcribed is not the point here, how often it is.
  // Ticks every second to keep the test short: the 60 s default minimum is lowered for it.
  stack = await startStack({ buckets: ['media'], workers: 2, env: { OBSQ_SCHEDULE_MIN_INTERVAL: '1s' } });
  audio = await readFile(GOFORWARD);
});

afterAll(async () => {
  await stack?.close();
});

describe('transcription schedules (BullMQ job scheduler ticking every second)', () => {
  it('rejects a bad cron, zone or request before touching Redis', async () => {
    const base = { id: 'bad', bucket: 'media', request: REQUEST, output: { bucket: 'media', prefix: 'out/' } };
    const err = await stack.producer
      .scheduleTranscriptions({ ...base, cron: '61 * * * * *', tz: 'Mars/Olympus', request: { ...REQUEST, vadTail: 9_000 } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.field)).toEqual(['tz', 'request.vadTail']);
    await expect(stack.producer.scheduleTranscriptions({ ...base, cron: '61 * * * * *' })).rejects.toThrow(/^cron: is not a valid cron pattern/);
    await expect(stack.producer.scheduleTranscriptions({ ...base, cron: '* * *' })).rejects.toThrow(/cron: must have 5 fields/);
    await expect(stack.producer.scheduleTranscriptions({ ...base, id: 'a:b', cron: '* * * * *' })).rejects.toThrow(/^id: must be 1 to 100/);
    expect(await stack.producer.queue('scan-transcriptions').getJobSchedulersCount()).toBe(0);
  });

  it('3 objects → exactly 3 transcriptions; a 4th → one more; a changed one again; nothing twice; list and remove', async () => {
    const saved = await stack.producer.scheduleTranscriptions({
      id: 'every-second',
      cron: '* * * * * *',
      bucket: 'media',
      prefix: 'inbox/',
      suffixes: ['.raw'],
      request: REQUEST,
      output: { bucket: 'media', prefix: 'transcripts/', formats: ['txt'] },
      engine: 'local',
    });
    expect(saved).toMatchObject({ id: 'every-second', cron: '* * * * * *', tz: 'UTC', suffixes: ['.raw'], engine: 'local' });

    for (const key of ['inbox/a.raw', 'inbox/b.raw', 'inbox/sub/c.raw']) await stack.storage.putObject({ bucket: 'media', key, body: audio });
    await stack.storage.putObject({ bucket: 'media', key: 'inbox/notes.txt', body: Buffer.from('not audio') });
    await waitFor(async () => (await finishedTranscriptions()) >= 3, { timeoutMs: 30_000, what: '3 transcriptions' });
    await moreTicks(3);
    let h = await history();
    expect(h.transcribed.map((t) => t.split('@')[0]).sort()).toEqual(['inbox/a.raw', 'inbox/b.raw', 'inbox/sub/c.raw']);
    expect(await finishedTranscriptions()).toBe(3);
    // Transcripts mirror the listed tree.
    const txt = await stack.storage.getObject({ bucket: 'media', key: 'transcripts/sub/c.txt' });
    const chunks: Buffer[] = [];
    for await (const c of txt.body!.response) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString('utf8')).toBe('go forward ten meters\n');

    await stack.storage.putObject({ bucket: 'media', key: 'inbox/d.raw', body: audio });
    await waitFor(async () => (await finishedTranscriptions()) >= 4, { timeoutMs: 30_000, what: 'the 4th transcription' });
    await moreTicks(3);
    h = await history();
    expect(h.transcribed).toHaveLength(4);
    expect(await finishedTranscriptions()).toBe(4);

    // New content, new ETag: transcribed again, once.
    await stack.storage.putObject({ bucket: 'media', key: 'inbox/a.raw', body: Buffer.concat([audio, Buffer.alloc(16_000)]) });
    await waitFor(async () => (await finishedTranscriptions()) >= 5, { timeoutMs: 30_000, what: 'the changed object transcribed again' });
    await moreTicks(2);
    h = await history();
    expect(h.transcribed).toHaveLength(5);
    expect(new Set(h.transcribed).size).toBe(5);
    expect(h.transcribed.filter((t) => t.startsWith('inbox/a.raw@'))).toHaveLength(2);
    // Both worker processes ran ticks or transcriptions; the dedupe held across them.
    expect(stack.workers.filter((w) => /\((scan-transcriptions|transcribe-audio-file)\) completed/.test(w.output())).length).toBe(2);

    const listed = await cli(['schedule', 'list', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const schedules = JSON.parse(listed.stdout) as Array<{ id: string; cron: string; next?: number }>;
    expect(schedules.map((s) => s.id)).toEqual(['every-second']);
    expect(schedules[0]!.next).toBeGreaterThan(Date.now() - 5_000);

    const removed = await cli(['schedule', 'remove', 'every-second']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout.trim()).toBe('removed every-second');
    expect(await stack.producer.listTranscriptionSchedules()).toEqual([]);
    expect((await cli(['schedule', 'remove', 'every-second'])).code).toBe(1);
    // No tick is pending any more.
    const q = stack.producer.queue('scan-transcriptions');
    await waitFor(async () => (await q.getJobCounts('delayed', 'waiting', 'active')).delayed === 0, { timeoutMs: 5_000, what: 'no pending tick' });
  });

  it('obsq schedule transcriptions derives a stable id, so running it twice replaces the schedule', async () => {
    const args = ['schedule', 'transcriptions', '--cron', '0 0 3 * * *', '--tz', 'Asia/Shanghai', 'obs://media/inbox/', '--out', 'obs://media/cli-out/', '--engine', 'local', '--json'];
    const first = await cli(args);
    expect(first.code, first.stderr).toBe(0);
    const second = await cli(args);
    expect(second.code, second.stderr).toBe(0);
    const a = JSON.parse(first.stdout) as { id: string; tz: string; request: { property: string }; output: { formats: string[] } };
    expect(a).toMatchObject({ tz: 'Asia/Shanghai', request: { property: 'chinese_16k_general' }, output: { formats: ['json', 'srt', 'vtt', 'txt'] } });
    expect((JSON.parse(second.stdout) as { id: string }).id).toBe(a.id);
    expect((await stack.producer.listTranscriptionSchedules()).map((s) => s.id)).toEqual([a.id]);
    expect(await stack.producer.removeTranscriptionSchedule(a.id, { forget: true })).toBe(true);
  });
});
