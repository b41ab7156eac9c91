import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchRecordBody } from '@obsq/shared';
import { runObsq } from './helpers/cli.js';
import { startStack, type Stack } from './helpers/stack.js';

const GOFORWARD = '/usr/share/pocketsphinx/test/data/goforward.raw';
const REQUEST = { audioFormat: 'pcm16k16bit', property: 'english_16k_common' };

let stack: Stack;
let audio: Buffer;

beforeAll(async () => {
  stack = await startStack({ buckets: ['media'], workers: 1 });
  audio = await readFile(GOFORWARD);
});

afterAll(async () => {
  await stack?.close();
});

const keys = async (prefix: string) => (await stack.storage.listAllObjects({ bucket: 'media', prefix })).map((o) => o.key).sort();

describe('issue 15: a prefix or a directory transcribed once, as a batch', () => {
  it('every audio object under a prefix, transcripts mirroring the tree; a re-run skips what is current, a changed object is done again', async () => {
    for (const key of ['in/a.raw', 'in/sub/b.raw', 'in/sub/deeper/c.raw']) await stack.storage.putObject({ bucket: 'media', key, body: audio });
    await stack.storage.putObject({ bucket: 'media', key: 'in/readme.txt', body: Buffer.from('not audio') });
    const run = async (batchId: string) => {
      await stack.producer.enqueueTranscriptionBatch({
        source: { bucket: 'media', prefix: 'in/' },
        output: { bucket: 'media', prefix: 'out/', formats: ['txt', 'json'] },
        request: REQUEST,
        engine: 'local',
        batchId,
        skipExisting: true,
      });
      return stack.producer.waitForBatch(batchId, { timeoutMs: 120_000 });
    };
    const first = await run('tb-1');
    expect(first.result.status).toBe(200);
    expect(first.result.body).toMatchObject({ batchId: 'tb-1', bucket: 'media', prefix: 'in/', files: 3, succeeded: 3, failed: 0, skipped: 0, bytes: 3 * audio.length });
    expect(await keys('out/')).toEqual(['out/a.json', 'out/a.txt', 'out/sub/b.json', 'out/sub/b.txt', 'out/sub/deeper/c.json', 'out/sub/deeper/c.txt']);
    const txt = await stack.storage.getObject({ bucket: 'media', key: 'out/sub/b.txt' });
    const chunks: Buffer[] = [];
    for await (const c of txt.body!.response) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString('utf8')).toContain('go forward ten meters');

    expect((await run('tb-2')).result.body).toMatchObject({ files: 3, succeeded: 0, skipped: 3 });

    // A new version of one object (another ETag): only it is transcribed again.
    await stack.storage.putObject({ bucket: 'media', key: 'in/sub/b.raw', body: Buffer.concat([audio, Buffer.alloc(3200)]) });
    expect((await run('tb-3')).result.body).toMatchObject({ files: 3, succeeded: 1, skipped: 2 });
  });

  it('obsq transcribe DIR --out obs://… --wait --json: files under a directory, one batch record', async () => {
    const dir = join(stack.dir, 'calls');
    await mkdir(join(dir, 'day1'), { recursive: true });
    await copyFile(GOFORWARD, join(dir, 'day1', 'one.raw'));
    await copyFile(GOFORWARD, join(dir, 'two.raw'));
    const run = await runObsq(
      ['transcribe', dir, '--engine', 'local', '--audio-format', 'pcm16k16bit', '--out', 'obs://media/calls-out/', '--format', 'txt', '--batch-id', 'tb-dir', '--wait', '--json'],
      { ...stack.env, OBSQ_SOURCE_ROOTS: stack.dir },
    );
    expect(run.code, run.stderr).toBe(0);
    const rec = JSON.parse(run.stdout.trim().split('\n').pop()!) as { status: number; body: BatchRecordBody };
    expect(rec.status).toBe(200);
    expect(rec.body).toMatchObject({ batchId: 'tb-dir', files: 2, succeeded: 2 });
    expect(await keys('calls-out/')).toEqual(['calls-out/day1/one.txt', 'calls-out/two.txt']);
  });
});
