import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSync, type NodeCue } from 'subtitle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusWordErrors, type SisSegment } from '@obsq/speech';
import { ValidationError, type StoredResult } from '@obsq/shared';
import type { TranscriptRecordBody } from '@obsq/worker';
import { startStack, type Stack, type WorkerProcess } from './helpers/stack.js';
import { runObsq } from './helpers/cli.js';
import { waitFor } from './helpers/waitFor.js';

// Debian pocketsphinx-testdata: goforward.raw is 16 kHz 16-bit mono headerless PCM (2786 ms);
// librivox/ holds five 16 kHz WAVs and their reference `transcription`.
const DATA = '/usr/share/pocketsphinx/test/data';
const TEXT = 'go forward ten meters';
const REQUEST = { audioFormat: 'pcm16k16bit', property: 'english_16k_common' };

type Rec = StoredResult<TranscriptRecordBody>;

let stack: Stack;
let refs: Map<string, string>;
let goforward: Buffer;

/** SIGTERMs the running workers and starts `n` new ones with `env` on top of the stack's. */
async function useWorkers(n: number, env: Record<string, string> = {}): Promise<WorkerProcess[]> {
  for (const w of stack.workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  await Promise.all(stack.workers.map((w) => w.exited));
  const started: WorkerProcess[] = [];
  for (let i = 0; i < n; i++) started.push(await stack.startWorker(env));
  return started;
}

function wav(pcm: Buffer, sampleRate: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + pcm.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([h, pcm]);
}

async function getText(bucket: string, key: string): Promise<string> {
  const res = await stack.storage.getObject({ bucket, key });
  const chunks: Buffer[] = [];
  for await (const c of res.body!.response) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Final segments with text, in time order: what every transcript format must contain. */
function cueSegments(segments: SisSegment[]): SisSegment[] {
  return segments.filter((s) => s.is_final && (s.result?.text ?? '').trim() !== '').sort((a, b) => a.start_time - b.start_time);
}

/** Every output of a record parses, and its cues/lines match the record's segments. */
async function checkOutputs(rec: Rec): Promise<void> {
  const body = rec.result.body!;
  expect(body.outputs.map((o) => o.format).sort()).toEqual(['json', 'srt', 'txt', 'vtt']);
  const expected = cueSegments(body.segments);
  for (const o of body.outputs) {
    expect(o.etag).not.toBe('');
    const text = await getText(o.bucket, o.key);
    if (o.format === 'srt' || o.format === 'vtt') {
      if (o.format === 'vtt') expect(text.startsWith('WEBVTT')).toBe(true);
      const cues = parseSync(text)
        .filter((n): n is NodeCue => n.type === 'cue')
        .map((n) => n.data);
      expect(cues.map((c) => c.text)).toEqual(expected.map((s) => s.result!.text));
      cues.forEach((c, i) => {
        expect(c.start).toBe(expected[i]!.start_time);
        expect(c.end).toBe(Math.max(expected[i]!.end_time, expected[i]!.start_time + 1));
      });
    } else if (o.format === 'txt') {
      expect(text.trimEnd().split('\n')).toEqual(expected.map((s) => s.result!.text));
    } else {
      const json = JSON.parse(text) as { text: string; segments: SisSegment[] };
      expect(json.text).toBe(body.text);
      expect(json.segments).toEqual(body.segments);
    }
  }
}

/** Enqueues goforward and the five LibriVox files; returns their records keyed by file id. */
async function transcribeCorpus(engine: 'sis' | 'local'): Promise<Map<string, Rec>> {
  const ids = ['goforward', ...refs.keys()];
  const jobs = await Promise.all(
    ids.map((id) =>
      stack.producer.enqueueTranscription({
        audio: { bucket: 'audio', key: id === 'goforward' ? 'in/goforward.raw' : `in/${id}.wav` },
        request: REQUEST,
        output: { bucket: 'audio', prefix: `out/${engine}/` },
        engine,
      }),
    ),
  );
  const recs = await Promise.all(jobs.map((j) => stack.producer.waitForResult<TranscriptRecordBody>(j.jobId, { timeoutMs: 90_000 })));
  return new Map(ids.map((id, i) => [id, recs[i]!]));
}

function reportWer(engine: string, recs: Map<string, Rec>): number {
  const pairs = [...refs].map(([id, reference]) => ({ id, reference, hypothesis: recs.get(id)!.result.body!.text }));
  const total = corpusWordErrors(pairs);
  console.info(
    `LibriVox WER through ${engine}: ${total.wer.toFixed(3)} (${total.errors}/${total.referenceWords} words)\n` +
      pairs.map((p) => `  ${p.id}: ${p.hypothesis}`).join('\n'),
  );
  return total.wer;
}

function checkRecord(rec: Rec, engine: 'sis' | 'local'): void {
  expect(rec.result).toMatchObject({ status: 200, reason: 'OK', errorCode: '', errorMessage: '' });
  const body = rec.result.body!;
  expect(rec.result.requestId).toBe(body.trace_id);
  expect(body.trace_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(body.engine).toBe(engine);
  expect(body.audio_duration_ms).toBeGreaterThan(0);
  for (const s of body.segments) {
    expect(Object.keys(s)).toEqual(expect.arrayContaining(['start_time', 'end_time', 'is_final', 'result']));
    expect(s.result?.score).toBeGreaterThanOrEqual(0);
  }
}

beforeAll(async () => {
  // One stack for the whole file; workers are swapped per case (SIS settings are per process).
  stack = await startStack({ buckets: ['audio'], sis: { idleTimeoutMs: 10_000 } });
  const transcription = await readFile(join(DATA, 'librivox', 'transcription'), 'utf8');
  refs = new Map(
    transcription
      .split('\n')
      .map((l) => /^(.*)\((\S+)\)\s*$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[2]!, m[1]!.trim()] as const),
  );
  goforward = await readFile(join(DATA, 'goforward.raw'));
  await stack.storage.putObject({ bucket: 'audio', key: 'in/goforward.raw', body: goforward });
  for (const id of refs.keys()) {
    await stack.storage.putObject({ bucket: 'audio', key: `in/${id}.wav`, body: await readFile(join(DATA, 'librivox', `${id}.wav`)) });
  }
});

afterAll(async () => {
  const sis = stack?.devstack.sis;
  if (sis) await waitFor(() => sis.connectionCount === 0, { timeoutMs: 5_000, what: 'SIS connections to close' });
  const logs = stack?.workers.map((w) => w.output()).join('\n') ?? '';
  await stack?.close();
  // Credentials never reach the logs (the wrong SK of the last case included).
  if (sis) expect(logs).not.toContain(sis.sk);
  expect(logs).not.toContain('wrong-secret-key');
});

describe('transcribe-audio-file end to end (producer → Redis → worker processes → devstack SIS / local engine)', () => {
  it('SIS backend, two worker processes: goforward.raw is exact, LibriVox WER <= 0.45, SRT/VTT/TXT/JSON match the segments', async () => {
    const workers = await useWorkers(2);
    expect(refs.size).toBe(5);
    const recs = await transcribeCorpus('sis');
    for (const rec of recs.values()) checkRecord(rec, 'sis');
    expect(recs.get('goforward')!.result.body!.text).toBe(TEXT);
    expect(recs.get('goforward')!.result.body!.audio_duration_ms).toBe(2786);
    expect(reportWer('SIS', recs)).toBeLessThanOrEqual(0.45);
    // Which of the two processes ran which job is the scheduler's business: each record is checked.
    expect(workers).toHaveLength(2);
    for (const rec of recs.values()) await checkOutputs(rec);
    expect(recs.get('goforward')!.result.body!.outputs.find((o) => o.format === 'srt')!.key).toBe('out/sis/goforward.srt');
    // Starting two workers and warming their engines takes most of this on a loaded 2-core machine.
  }, 180_000);

  it('the local engine directly (engine "local"): same exact goforward text and WER bound', async () => {
    const recs = await transcribeCorpus('local');
    for (const rec of recs.values()) checkRecord(rec, 'local');
    expect(recs.get('goforward')!.result.body!.text).toBe(TEXT);
    expect(reportWer('local engine', recs)).toBeLessThanOrEqual(0.45);
    await checkOutputs(recs.get('goforward')!);
  });

  it('obsq transcribe obs://... --wait --json prints the record', async () => {
    const { code, stdout, stderr } = await runObsq(['transcribe', 'obs://audio/in/goforward.raw', '--property', 'english_16k_common', '--engine', 'sis', '--out', 'obs://audio/cli/', '--format', 'srt,txt', '--wait', '--json'], stack.env);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout.trim()) as Rec['result'];
    expect(result.body).toMatchObject({ text: TEXT, engine: 'sis' });
    expect(result.body!.outputs.map((o) => o.key)).toEqual(['cli/goforward.srt', 'cli/goforward.txt']);
  });

  it('rejects bad requests before anything reaches Redis, naming every field', async () => {
    const queue = stack.producer.queue('transcribe-audio-file');
    const before = await queue.count();
    const err = await stack.producer
      .enqueueTranscription({
        audio: { bucket: 'audio', key: 'in/goforward.raw' },
        request: { ...REQUEST, vadHead: 70_000, maxSeconds: 0, addPunc: 'maybe' as 'yes' },
        output: { bucket: 'Bad_Bucket', prefix: 'x/', formats: ['srt', 'srt'] },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(new Set((err as ValidationError).issues.map((i) => i.field))).toEqual(
      new Set(['output.bucket', 'output.formats', 'request.addPunc', 'request.maxSeconds', 'request.vadHead']),
    );
    await expect(
      stack.producer.enqueueTranscription({ audio: { kind: 'file', path: join(stack.dir, 'missing.wav') }, request: REQUEST }),
    ).rejects.toThrow(/^audio\.path: cannot read .*ENOENT/);
    await expect(
      stack.producer.enqueueTranscription({ audio: { bucket: 'audio', key: 'in/goforward.raw' }, request: { audioFormat: 'pcm8k16bit', property: 'english_16k_common' } }),
    ).rejects.toThrow(/request\.property: sample rate 16k does not match request\.audioFormat pcm8k16bit/);
    expect(await queue.count()).toBe(before);
  });

  it('a WAV whose rate does not match the property fails permanently with SIS.0301, once', async () => {
    // 8 kHz WAV (every other sample), sent with a 16 kHz property: the header decides the format.
    const pcm8k = Buffer.alloc(Math.floor(goforward.length / 4) * 2);
    for (let i = 0; i < pcm8k.length / 2; i++) pcm8k.writeInt16LE(goforward.readInt16LE(i * 4), i * 2);
    await stack.storage.putObject({ bucket: 'audio', key: 'in/goforward-8k.wav', body: wav(pcm8k, 8000) });
    const enq = await stack.producer.enqueueTranscription({ audio: { bucket: 'audio', key: 'in/goforward-8k.wav' }, request: REQUEST, engine: 'sis' });
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 30_000 });
    expect(rec.attempts).toBe(1);
    expect(rec.result).toMatchObject({ status: 400, errorCode: 'SIS.0301', errorMessage: "'audio_format' is not match model", body: null });
  });

  it('the server drops the socket mid-stream: the job retries the session, resumes after the last final, no duplicate or missing segment', async () => {
    // Paced so finals arrive while audio is still flowing; debug logs show each final as it arrives.
    const [worker] = await useWorkers(1, { OBSQ_SIS_PACE: '2', OBSQ_LOG_LEVEL: 'debug' });
    const silence = Buffer.alloc(32_000);
    await stack.storage.putObject({ bucket: 'audio', key: 'in/three.raw', body: Buffer.concat([goforward, silence, goforward, silence, goforward]) });
    const enq = await stack.producer.enqueueTranscription({ audio: { bucket: 'audio', key: 'in/three.raw' }, request: REQUEST, engine: 'sis' });
    // Right after the first final, the server cuts the connection on the next audio frame.
    await waitFor(() => worker!.output().includes('"msg":"sis final segment"'), { timeoutMs: 20_000, intervalMs: 20, what: 'the first final' });
    stack.devstack.sis!.setFaults({ dropAfterAudioBytes: 0, dropConnections: 1 });
    const rec = await stack.producer.waitForResult<TranscriptRecordBody>(enq.jobId, { timeoutMs: 60_000 });
    stack.devstack.sis!.setFaults({});

    const retry = worker!
      .output()
      .split('\n')
      .filter((l) => l.includes('"msg":"sis session failed, retrying"'))
      .map((l) => JSON.parse(l) as { resumeAtMs: number });
    expect(retry, 'the session was retried once').toHaveLength(1);
    expect(retry[0]!.resumeAtMs, 'resumed after the first final, not from 0').toBeGreaterThan(2_000);
    expect(rec.attempts).toBe(1);
    checkRecord(rec, 'sis');
    const segs = rec.result.body!.segments;
    expect(rec.result.body!.text).toBe(`${TEXT} ${TEXT} ${TEXT}`);
    expect(segs).toHaveLength(3);
    // Utterances start every 3786 ms (2786 ms of speech + 1 s of silence); none overlaps the next.
    segs.forEach((s, i) => {
      expect(Math.abs(s.start_time - segs[0]!.start_time - i * 3786)).toBeLessThan(600);
      if (i > 0) expect(s.start_time).toBeGreaterThanOrEqual(segs[i - 1]!.end_time);
    });
  });

  it('a silent server: each attempt fails within its read timeout and the job ends failed, never hangs', async () => {
    await useWorkers(1, { OBSQ_SIS_READ_TIMEOUT_MS: '300' });
    stack.devstack.sis!.setFaults({ silent: true });
    try {
      const started = Date.now();
      const enq = await stack.producer.enqueueTranscription({ audio: { bucket: 'audio', key: 'in/goforward.raw' }, request: REQUEST, engine: 'sis' });
      const queue = stack.producer.queue('transcribe-audio-file');
      await waitFor(async () => ((await queue.getJob(enq.jobId))?.attemptsMade ?? 0) >= 1, { timeoutMs: 15_000, what: 'the first attempt to fail' });
      // Four sessions of 300 ms plus the in-job backoff (at most 3.5 s).
      expect(Date.now() - started).toBeLessThan(10_000);
      // The remaining attempts run at once instead of after the catalog's backoff (5 s doubling).
      const rec = await waitFor(
        async () => {
          const job = await queue.getJob(enq.jobId);
          if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
          return stack.producer.getResult(enq.jobId);
        },
        { timeoutMs: 45_000, intervalMs: 100, what: 'the final failure record' },
      );
      expect(rec.attempts).toBe(5);
      expect(rec.result).toMatchObject({ status: 0, errorCode: 'OBSQ_TIMEOUT', body: null });
      expect(rec.result.errorMessage).toMatch(/did not answer START within 300 ms/);
    } finally {
      stack.devstack.sis!.setFaults({});
    }
  });

  it('a wrong SK fails permanently with APIGW.0301 (HTTP 401), on the first attempt', async () => {
    await useWorkers(1, { OBSQ_SIS_SK: 'wrong-secret-key' });
    const enq = await stack.producer.enqueueTranscription({ audio: { bucket: 'audio', key: 'in/goforward.raw' }, request: REQUEST, engine: 'sis' });
    const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 30_000 });
    expect(rec.attempts).toBe(1);
    expect(rec.result).toMatchObject({ status: 401, errorCode: 'APIGW.0301', body: null });
    expect(rec.result.errorMessage).toMatch(/Incorrect IAM authentication information/);
  });
});
