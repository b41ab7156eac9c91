import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tool } from './helpers/tools.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@obsq/shared';
import { prepareAudio, type SisSegment } from '@obsq/speech';
import { startSisServer, type SisServer } from '@obsq/devstack';
import { SisRasrClient, transcribe, type SisRasrClientOptions, type TranscribeOptions } from '@obsq/speech';
import { waitFor } from './helpers/waitFor.js';

// pocketsphinx-testdata: 16 kHz, 16-bit, mono headerless PCM of "go forward ten meters" (2786 ms).
const GOFORWARD = '/usr/share/pocketsphinx/test/data/goforward.raw';
const TEXT = 'go forward ten meters';
const engine = tool('pocketsphinx');
const soxTool = tool('sox');

const PROJECT = '0123456789abcdef0123456789abcdef';
const AK = 'AKTESTEXAMPLE0000000';
const SK = 'SKtestExampleSecret0000000000000000000000';
const TOKEN = 'test-iam-token';

/** Captures pino lines so tests can assert on what the client logged (and that no secret was). */
function captureLogger(onLine?: (line: Record<string, unknown>) => void) {
  const lines: Array<Record<string, unknown>> = [];
  const destination = {
    write(chunk: string) {
      for (const l of chunk.split('\n')) {
        if (!l) continue;
        const line = JSON.parse(l) as Record<string, unknown>;
        lines.push(line);
        onLine?.(line);
      }
    },
  };
  return { logger: createLogger({ service: 'sis-client-test', version: '0', level: 'debug', destination }), lines };
}

function sox(args: string[]): void {
  const r = spawnSync('sox', args);
  if (r.status !== 0) throw new Error(`sox ${args.join(' ')} failed: ${r.stderr?.toString()}`);
}

const soxRawIn = ['-t', 'raw', '-r', '16000', '-e', 'signed-integer', '-b', '16', '-c', '1', GOFORWARD];

describe.skipIf(engine.skip)('SisRasrClient and transcribe() against the devstack SIS server', () => {
  beforeAll(() => engine.require());
  let server: SisServer;
  let dir: string;
  let goforward: Buffer;

  beforeAll(async () => {
    server = await startSisServer({ projectId: PROJECT, region: 'cn-north-4', ak: AK, sk: SK, token: TOKEN, idleTimeoutMs: 5_000 });
    dir = await mkdtemp(join(tmpdir(), 'obsq-sis-'));
    goforward = await readFile(GOFORWARD);
  });

  afterEach(async () => {
    server.setFaults({});
    // Every session closes its socket: none may linger on the server.
    await waitFor(() => server.connectionCount === 0, { timeoutMs: 5_000, what: 'SIS connections to close' });
  });

  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const sis = (over: Partial<SisRasrClientOptions> = {}): SisRasrClientOptions => ({
    endpoint: server.endpoint,
    projectId: PROJECT,
    ak: AK,
    sk: SK,
    pace: 0,
    connectTimeoutMs: 2_000,
    // Generous: PocketSphinx behind the test server is slow on a loaded 2-core machine.
    readTimeoutMs: 15_000,
    endTimeoutMs: 30_000,
    ...over,
  });

  const run = (over: Partial<TranscribeOptions> & Pick<TranscribeOptions, 'audio'>) =>
    transcribe({
      request: { property: 'english_16k_common' },
      format: 'pcm16k16bit',
      engine: 'sis',
      sis: sis(),
      retry: { attempts: 2, baseDelayMs: 20, maxDelayMs: 50 },
      ...over,
    });

  it('transcribes goforward.raw to exactly "go forward ten meters", with a trace id and SIS-shaped segments', async () => {
    const { logger, lines } = captureLogger();
    const progress: number[] = [];
    const result = await run({
      audio: GOFORWARD,
      request: { property: 'english_16k_common', interimResults: true, needWordInfo: true },
      sis: sis({ pace: 4 }),
      logger,
      onProgress: (f) => progress.push(f),
    });
    expect(result.text).toBe(TEXT);
    expect(result.engine).toBe('sis');
    expect(result.audioDurationMs).toBe(2786);
    expect(result.traceId).not.toBe('');
    expect(result.traceIds).toEqual([result.traceId]);
    for (const seg of result.segments) {
      expect(seg.is_final).toBe(true);
      expect(seg.result?.word_info?.length).toBeGreaterThan(0);
    }
    expect(progress.at(-1)).toBe(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    const logged = JSON.stringify(lines);
    expect(logged).not.toContain(SK);
    expect(logged).not.toContain('Signature=');
  });

  it('authenticates with X-Auth-Token instead of AK/SK, and runs sentence-stream (VAD events, one sentence)', async () => {
    const client = new SisRasrClient(sis({ ak: undefined, sk: undefined, token: TOKEN, mode: 'sentence-stream' }));
    const session = await client.recognize(Buffer.concat([goforward, Buffer.alloc(32_000)]), {
      audio_format: 'pcm16k16bit',
      property: 'english_16k_common',
    });
    expect(session.segments.map((s) => s.result?.text)).toEqual([TEXT]);
    expect(session.events).toContain('VOICE_END');
    expect(session.endReason).toBe('NORMAL');
  });

  it('a wrong SK is a permanent APIGW.0301 (HTTP 401, body read from the refused upgrade), not retried', async () => {
    const started = Date.now();
    const err = await run({ audio: GOFORWARD, sis: sis({ sk: 'wrong-secret' }), retry: { attempts: 3, baseDelayMs: 5_000 } }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({
      code: 'OBSQ_SIS',
      permanent: true,
      details: { error_code: 'APIGW.0301', http_status: 401, source: 'HANDSHAKE' },
    });
    expect((err as Error).message).toMatch(/Incorrect IAM authentication information/);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('a format/property sample-rate mismatch fails permanently with SIS.0301 before connecting', async () => {
    let connections = 0;
    const tcp: Server = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as { port: number }).port;
    try {
      const err = await run({
        audio: GOFORWARD,
        request: { property: 'chinese_8k_common' },
        sis: sis({ endpoint: `ws://127.0.0.1:${port}` }),
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'OBSQ_SIS',
        permanent: true,
        details: { error_code: 'SIS.0301', error_msg: "'audio_format' is not match model" },
      });
      expect(connections).toBe(0);
    } finally {
      await new Promise((r) => tcp.close(r));
    }
  });

  it('the server agrees: a mismatched START sent anyway is answered with ERROR SIS.0301 (permanent)', async () => {
    const client = new SisRasrClient(sis());
    await expect(client.recognize(goforward, { audio_format: 'pcm16k16bit', property: 'chinese_8k_common' })).rejects.toMatchObject({
      code: 'OBSQ_SIS',
      permanent: true,
      details: { error_code: 'SIS.0301', source: 'ERROR' },
    });
  });

  it('resumes after the server drops the socket mid-stream: same transcript as an undropped run, no gap or duplicate', async () => {
    // Three utterances with a second of silence between them, so the first final arrives before the drop.
    const silence = Buffer.alloc(32_000);
    const audio = Buffer.concat([goforward, silence, goforward, silence, goforward]);

    const clean = await run({ audio });
    expect(clean.text).toBe(`${TEXT} ${TEXT} ${TEXT}`);

    // Once the first final has arrived, the server drops the socket on the next audio frame:
    // mid-stream, after a final, whatever the engine's speed on a loaded machine.
    const { logger, lines } = captureLogger((line) => {
      if (line.msg === 'sis final segment' && !lines.some((l) => l.msg === 'sis session failed, retrying')) {
        server.setFaults({ dropAfterAudioBytes: 0, dropConnections: 1 });
      }
    });
    const resumed = await run({ audio, sis: sis({ pace: 2 }), logger });

    const retry = lines.find((l) => l.msg === 'sis session failed, retrying');
    expect(retry, 'the client retried').toBeDefined();
    expect(retry!.resumeAtMs as number, 'resumed after the first final, not from 0').toBeGreaterThan(2_000);
    expect(resumed.traceIds).toHaveLength(2);
    expect(resumed.text).toBe(clean.text);
    expect(resumed.segments).toHaveLength(clean.segments.length);
    const noOverlap = (segs: SisSegment[]) => segs.every((s, i) => i === 0 || s.start_time >= segs[i - 1]!.end_time);
    expect(noOverlap(resumed.segments)).toBe(true);
    resumed.segments.forEach((s, i) => {
      expect(Math.abs(s.start_time - clean.segments[i]!.start_time)).toBeLessThan(600);
      expect(Math.abs(s.end_time - clean.segments[i]!.end_time)).toBeLessThan(600);
    });
  });

  it('a silent server fails within the configured timeouts, never hangs', async () => {
    server.setFaults({ silent: true });
    const started = Date.now();
    const err = await run({
      audio: GOFORWARD,
      sis: sis({ readTimeoutMs: 300, endTimeoutMs: 500 }),
      retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'OBSQ_TIMEOUT', permanent: false });
    expect((err as Error).message).toMatch(/did not answer START within 300 ms/);
    // Two attempts of 300 ms plus backoff and connects: far below any hang.
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('splits long audio into several sessions and offsets their times', async () => {
    const silence = Buffer.alloc(16_000);
    const audio = Buffer.concat([goforward, silence, goforward, silence]);
    const result = await run({ audio, maxSessionMs: 3_300 });
    expect(result.traceIds).toHaveLength(2);
    expect(result.text).toBe(`${TEXT} ${TEXT}`);
    const second = result.segments.find((s) => s.start_time >= 3_300);
    expect(second, 'a segment from the second session, offset by 3300 ms').toBeDefined();
  });

  it('aborts promptly through the AbortSignal', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = run({ audio: GOFORWARD, sis: sis({ pace: 1 }), signal: controller.signal });
    setTimeout(() => controller.abort(new Error('shutdown')), 300);
    await expect(pending).rejects.toMatchObject({ code: 'OBSQ_ABORTED' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  describe('WAV input', () => {
    it.skipIf(soxTool.skip).each([
      ['pcm16k16bit', ['-e', 'signed-integer', '-b', '16', '-r', '16000']],
      ['pcm8k16bit', ['-e', 'signed-integer', '-b', '16', '-r', '8000']],
      ['alaw8k8bit', ['-e', 'a-law', '-r', '8000']],
      ['alaw16k8bit', ['-e', 'a-law', '-r', '16000']],
      ['ulaw8k8bit', ['-e', 'u-law', '-r', '8000']],
      ['ulaw16k8bit', ['-e', 'u-law', '-r', '16000']],
    ] as const)('reads %s out of a WAV header', async (format, args) => {
      soxTool.require();
      const file = join(dir, `${format}.wav`);
      sox([...soxRawIn, ...args, file]);
      const prepared = await prepareAudio(file);
      expect(prepared).toMatchObject({ format, source: 'wav' });
      expect(Math.abs(prepared.durationMs - 2786)).toBeLessThanOrEqual(1);
    });

    it.skipIf(soxTool.skip)('transcribes an 8 kHz A-law WAV through SIS (property must say 8k)', async () => {
      soxTool.require();
      const file = join(dir, 'alaw8k-sis.wav');
      sox([...soxRawIn, '-e', 'a-law', '-r', '8000', file]);
      const result = await run({ audio: file, format: undefined, request: { property: 'english_8k_common' } });
      expect(result.audioFormat).toBe('alaw8k8bit');
      expect(result.text).toBe(TEXT);
    });

    it.skipIf(soxTool.skip)('converts stereo 44.1 kHz WAV through sox to pcm16k16bit and transcribes it', async () => {
      soxTool.require();
      const file = join(dir, 'stereo44k.wav');
      sox([...soxRawIn, '-r', '44100', '-c', '2', file]);
      const prepared = await prepareAudio(file);
      expect(prepared).toMatchObject({ format: 'pcm16k16bit', source: 'sox', inputDescription: '44100 Hz, 2 channels, 16-bit PCM' });
      const result = await run({ audio: file, format: undefined });
      expect(result.audioFormat).toBe('pcm16k16bit');
      expect(result.text).toBe(TEXT);
    });
  });
});
