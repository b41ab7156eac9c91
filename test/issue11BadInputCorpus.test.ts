import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filePinOf, type JobName } from '@obsq/shared';
import { runObsq } from './helpers/cli.js';
import { startStack, type Stack } from './helpers/stack.js';
import { waitFor } from './helpers/waitFor.js';

// Issue 11: the bad-input corpus (test/fixtures/badInputs.json) against the producer API, the CLI
// and raw payloads written straight into the worker's queues. Every case must be refused with its
// code, naming its field, without a JavaScript TypeError; afterwards the worker still serves and
// nothing is left behind.

interface BaseCase {
  id: string;
  code: string;
  /** The field the message names; null when the case does not check one. */
  field: string | null;
}
type Case =
  | (BaseCase & { target: 'producer'; call: string; args: unknown[] })
  | (BaseCase & { target: 'cli'; argv: string[] })
  | (BaseCase & { target: 'worker'; queue: JobName; payload: unknown });

const corpus = JSON.parse(readFileSync(resolve(import.meta.dirname, 'fixtures/badInputs.json'), 'utf8')) as { cases: Case[] };
const of = <T extends Case['target']>(t: T) => corpus.cases.filter((c): c is Extract<Case, { target: T }> => c.target === t);

let stack: Stack;
const pins = new Map<string, unknown>();

/** A minimal WAV header over `data`, with `rate` and a declared data size. */
function wav(rate: number, data: Buffer, declared = data.length): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE((rate * 2) % 2 ** 32, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(declared, 40);
  return Buffer.concat([h, data]);
}

const FIXTURES: Record<string, () => Buffer> = {
  'ok.bin': () => Buffer.from('x'),
  'empty.wav': () => Buffer.alloc(0),
  'random.raw': () => randomBytes(64 * 1024),
  'ghz.wav': () => wav(4_000_000_000, Buffer.alloc(3200)),
  'truncated.wav': () => wav(16_000, Buffer.alloc(3200), 1_000_000),
  'notes.txt': () => Buffer.from('These are meeting notes, not a recording.\n'.repeat(20)),
};

/** Replaces the corpus placeholders (see the file's description). */
function expand(v: unknown): unknown {
  if (typeof v === 'string') {
    if (v === '$FILE') return join(stack.dir, 'ok.bin');
    if (v === '$ROOT') return stack.dir;
    if (v === '$NaN') return Number.NaN;
    if (v === '$Infinity') return Number.POSITIVE_INFINITY;
    if (v.startsWith('$FILE:')) return join(stack.dir, v.slice(6));
    if (v.startsWith('$PIN:')) return pins.get(v.slice(5));
    const repeat = /^\$REPEAT:(.):(\d+)$/.exec(v);
    if (repeat) return repeat[1]!.repeat(Number(repeat[2]));
    return v;
  }
  if (Array.isArray(v)) return v.map(expand);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expand(x)]));
  return v;
}

/** True when `message` names `field` as one of its `field: rule` parts. */
const names = (message: string, field: string) => message.startsWith(`${field}: `) || message.includes(`; ${field}: `) || message.includes(` ${field}: `);

beforeAll(async () => {
  stack = await startStack({ workers: 1 });
  for (const [name, make] of Object.entries(FIXTURES)) {
    const path = join(stack.dir, name);
    await writeFile(path, make());
    pins.set(name, filePinOf(await stat(path, { bigint: true })));
  }
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe('bad-input corpus', () => {
  it('has at least 150 cases, each with an expected code', () => {
    expect(corpus.cases.length).toBeGreaterThanOrEqual(150);
    for (const c of corpus.cases) expect(c.code, c.id).toMatch(/^(OBSQ_[A-Z_]+|USAGE)$/);
  });

  it.each(of('producer').map((c) => [c.id, c] as const))('producer: %s', async (_id, c) => {
    const method = (stack.producer as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[c.call]!;
    const err = await method.apply(stack.producer, expand(c.args) as unknown[]).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string; issues?: Array<{ field: string }> },
    );
    expect(err, 'refused').toBeDefined();
    expect(err!.name).not.toMatch(/^(TypeError|RangeError|SyntaxError|ReplyError)$/);
    expect(err!.code, err!.message).toBe(c.code);
    if (c.field !== null) {
      const fields = err!.issues?.map((i) => i.field) ?? [];
      expect(fields.includes(c.field) || names(err!.message, c.field), `${err!.message} names ${c.field}`).toBe(true);
    }
  });

  it('cli: every case exits non-zero naming code and field, before anything is enqueued', async () => {
    const failures: string[] = [];
    const cases = of('cli');
    // Two at a time: the machine has two cores.
    for (let i = 0; i < cases.length; i += 2) {
      await Promise.all(
        cases.slice(i, i + 2).map(async (c) => {
          const run = await runObsq(expand(c.argv) as string[], stack.env);
          if (c.code === 'USAGE') {
            if (run.code !== 2 || !/usage:/.test(run.stderr)) failures.push(`${c.id}: exit ${run.code}, ${run.stderr}`);
            return;
          }
          const message = run.stderr.replace(/^obsq \S+: /, '').trim();
          const ok = run.code !== 0 && message.startsWith(`[${c.code}] `) && (c.field === null || names(message.slice(c.code.length + 3), c.field));
          if (!ok) failures.push(`${c.id}: exit ${run.code}, ${JSON.stringify(run.stderr)}`);
        }),
      );
    }
    expect(failures).toEqual([]);
  }, 180_000);

  it('worker: raw payloads get one record each, refused at once with code and field', async () => {
    const cases = of('worker');
    const prefix = `{${stack.env.OBSQ_PREFIX}}`;
    const queues = new Map<JobName, Queue>();
    try {
      for (const c of cases) {
        let q = queues.get(c.queue);
        if (!q) queues.set(c.queue, (q = new Queue(c.queue, { connection: stack.producerRedis, prefix })));
        await q.add(c.queue, expand(c.payload), { jobId: `corpus-${c.id}`, attempts: 5 });
      }
    } finally {
      for (const q of queues.values()) await q.close();
    }
    const failures: string[] = [];
    for (const c of cases) {
      const rec = await stack.producer.waitForResult(`corpus-${c.id}`, { timeoutMs: 60_000 });
      const { errorCode, errorMessage } = rec.result;
      const named = c.field === null || names(errorMessage, c.field) || errorMessage.startsWith(`${c.field}: `);
      if (errorCode !== c.code || !named || rec.attempts !== 1) failures.push(`${c.id}: ${errorCode} after ${rec.attempts} attempt(s): ${errorMessage.slice(0, 300)}`);
    }
    expect(failures).toEqual([]);
    expect(stack.workers[0]!.child.exitCode).toBeNull();
  }, 180_000);

  it('leaves nothing behind, and the worker keeps serving', async () => {
    expect(await stack.storage.listAllMultipartUploads({ bucket: 'ingest' })).toEqual([]);
    expect(await stack.storage.listAllObjects({ bucket: 'ingest' })).toEqual([]);
    const prefix = `{${stack.env.OBSQ_PREFIX}}`;
    await waitFor(
      async () => {
        for (const name of ['upload-part', 'complete-multipart', 'copy-object', 'transcribe-audio-file', 'scan-transcriptions'] as const) {
          const q = new Queue(name, { connection: stack.producerRedis, prefix });
          const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'waiting-children', 'prioritized');
          await q.close();
          if (Object.values(counts).some((n) => n > 0)) return false;
        }
        return true;
      },
      { what: 'no job waiting, active, delayed or waiting for children' },
    );
    expect(await stack.producer.listTranscriptionSchedules()).toEqual([]);
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path: join(stack.dir, 'ok.bin') }, bucket: 'ingest', key: 'after-corpus.bin' });
    expect((await stack.producer.waitForResult(enq.jobId, { timeoutMs: 30_000 })).result.status).toBe(200);
    expect(stack.workers[0]!.child.exitCode).toBeNull();
  });
});
