import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startSisServer, type SisServer } from '@obsq/devstack';
import { parseServerMessage, signWebsocketHandshake, type SisServerMessage } from '@obsq/speech';
import { waitFor } from './helpers/waitFor.js';

const GOFORWARD = '/usr/share/pocketsphinx/test/data/goforward.raw';
const CREDS = { projectId: '0123456789abcdef0123456789abcdef', region: 'cn-north-4', ak: 'AKTESTEXAMPLE0000000', sk: 'SKtestExampleSecret0000000000000000000000', token: 'test-token-123' };
const START_16K = { command: 'START', config: { audio_format: 'pcm16k16bit', property: 'english_16k_general', need_word_info: 'yes' } };

/** A hand-written RASR client: raw `ws`, every server message parsed and kept. */
interface Client {
  ws: WebSocket;
  messages: SisServerMessage[];
  closeCode: Promise<number>;
  send(msg: unknown): void;
  waitFor(type: SisServerMessage['resp_type'], n?: number): Promise<SisServerMessage>;
}

const clients: WebSocket[] = [];

function url(server: SisServer, mode = 'continue-stream', projectId = server.projectId): string {
  return `${server.endpoint}/v1/${projectId}/rasr/${mode}`;
}

async function open(target: string, headers: Record<string, string>): Promise<Client> {
  const ws = new WebSocket(target, { headers });
  clients.push(ws);
  const messages: SisServerMessage[] = [];
  ws.on('message', (data, isBinary) => {
    expect(isBinary).toBe(false);
    messages.push(parseServerMessage(String(data)));
  });
  const closeCode = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    messages,
    closeCode,
    send: (msg) => ws.send(typeof msg === 'string' || Buffer.isBuffer(msg) ? msg : JSON.stringify(msg)),
    waitFor: (type, n = 1) =>
      waitFor(() => messages.filter((m) => m.resp_type === type)[n - 1], { timeoutMs: 20_000, what: `${n}× ${type}` }),
  };
}

function signed(target: string, over: { sk?: string; date?: Date } = {}): Record<string, string> {
  return signWebsocketHandshake({ url: target, ak: CREDS.ak, sk: over.sk ?? CREDS.sk, ...(over.date ? { date: over.date } : {}) });
}

/** Attempts an upgrade that must fail; returns the HTTP status and JSON body. */
function rejectedUpgrade(target: string, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target, { headers });
    ws.once('open', () => reject(new Error('upgrade unexpectedly succeeded')));
    ws.once('error', () => {});
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
  });
}

async function streamFile(client: Client, pcm: Buffer, frame = 3200): Promise<void> {
  for (let off = 0; off < pcm.length; off += frame) client.send(pcm.subarray(off, off + frame));
}

function childPids(): Promise<string[]> {
  return new Promise((resolve) => execFile('pgrep', ['-P', String(process.pid)], (_e, out) => resolve(out.split('\n').filter(Boolean))));
}

let server: SisServer;
let goforward: Buffer;

beforeAll(async () => {
  server = await startSisServer(CREDS);
  goforward = await readFile(GOFORWARD);
});

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await waitFor(() => server.connectionCount === 0, { timeoutMs: 5000, what: 'server connections to close' });
});

afterAll(async () => {
  await server.close();
  await server.close(); // idempotent
  await waitFor(async () => (await childPids()).length === 0, { timeoutMs: 5000, what: 'engine processes to exit' });
});

describe('SIS server handshake', () => {
  it('rejects a bad signature with 401 and the APIG body', async () => {
    const target = url(server);
    const res = await rejectedUpgrade(target, signed(target, { sk: 'wrong-secret' }));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error_msg: expect.stringMatching(/^Incorrect IAM authentication information: /), error_code: 'APIGW.0301', request_id: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toContain(CREDS.ak);
  });

  it('rejects an expired X-Sdk-Date, a missing credential and a wrong token', async () => {
    const target = url(server);
    for (const headers of [signed(target, { date: new Date(Date.now() - 16 * 60_000) }), {}, { 'X-Auth-Token': 'nope' }]) {
      const res = await rejectedUpgrade(target, headers);
      expect(res).toMatchObject({ status: 401, body: { error_code: 'APIGW.0301' } });
    }
  });

  it('answers 404 on other paths and 401 SIS.0101 for another project id', async () => {
    const bad = `${server.endpoint}/v1/${server.projectId}/rasr/other-stream`;
    expect((await rejectedUpgrade(bad, signed(bad))).status).toBe(404);
    const other = url(server, 'continue-stream', 'ffffffffffffffffffffffffffffffff');
    expect(await rejectedUpgrade(other, signed(other))).toMatchObject({ status: 401, body: { error_code: 'SIS.0101' } });
  });

  it('rejects two Host headers', async () => {
    const target = url(server);
    const h = signed(target);
    const host = new URL(target).host;
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = netConnect(server.port, '127.0.0.1');
      let out = '';
      sock.on('data', (d) => (out += d.toString()));
      sock.on('end', () => resolve(out));
      sock.on('error', reject);
      sock.write(
        `GET ${new URL(target).pathname} HTTP/1.1\r\nHost: ${host}\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Sdk-Date: ${h['X-Sdk-Date']}\r\nAuthorization: ${h.Authorization}\r\n\r\n`,
      );
    });
    expect(raw).toMatch(/^HTTP\/1\.1 401 /);
    expect(raw).toContain('"error_code":"APIGW.0301"');
  });

  it('accepts X-Auth-Token', async () => {
    const c = await open(url(server), { 'X-Auth-Token': CREDS.token });
    c.send(START_16K);
    expect(await c.waitFor('START')).toMatchObject({ resp_type: 'START', trace_id: expect.any(String) });
  });
});

describe('SIS server protocol', () => {
  it('transcribes goforward.raw streamed in 3200-byte frames, then ends NORMAL', async () => {
    const target = url(server);
    const c = await open(target, signed(target));
    c.send(START_16K);
    const start = await c.waitFor('START');
    await streamFile(c, goforward);
    c.send({ command: 'END', cancel: false });
    const end = await c.waitFor('END');
    expect(end).toMatchObject({ reason: 'NORMAL', trace_id: start.trace_id });
    const results = c.messages.filter((m) => m.resp_type === 'RESULT');
    expect(results.length).toBeGreaterThan(0);
    const finals = results.flatMap((r) => r.segments).filter((s) => s.is_final);
    expect(finals.map((s) => s.result?.text).join(' ')).toBe('go forward ten meters');
    const [seg] = finals;
    expect(seg?.result?.score).toBeGreaterThan(0);
    expect(seg?.result?.word_info?.map((w) => w.word)).toEqual(['go', 'forward', 'ten', 'meters']);
    expect(seg?.start_time).toBeGreaterThanOrEqual(300);
    expect(seg?.end_time).toBeLessThanOrEqual(2800);
    expect(c.messages.filter((m) => m.resp_type !== 'START' && m.resp_type !== 'RESULT' && m.resp_type !== 'END')).toEqual([]);
    expect(new Set(c.messages.map((m) => m.trace_id))).toEqual(new Set([start.trace_id]));

    // The connection stays usable: a second session with interim results and without word_info.
    c.send({ command: 'START', config: { audio_format: 'pcm16k16bit', property: 'english_16k_general', interim_results: 'yes' } });
    await c.waitFor('START', 2);
    await streamFile(c, goforward);
    c.send('{"command": "END", "cancel": "false"}');
    await c.waitFor('END', 2);
    const secondStart = c.messages.findLastIndex((m) => m.resp_type === 'START');
    const second = c.messages.slice(secondStart + 1).filter((m) => m.resp_type === 'RESULT').flatMap((m) => m.segments);
    expect(second.some((s) => !s.is_final)).toBe(true);
    expect(second.findIndex((s) => s.is_final)).toBe(second.length - 1);
    expect(second.at(-1)?.result).toEqual({ text: 'go forward ten meters', score: expect.any(Number) });
  });

  it('returns a sentence before END on a long stream, with session-relative times', async () => {
    // noise 2 s | goforward | noise 2 s | goforward | noise 1 s, like a continuous recording.
    let seed = 1;
    const noise = (ms: number) => {
      const b = Buffer.alloc(ms * 32);
      for (let i = 0; i < b.length; i += 2) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        b.writeInt16LE((seed % 61) - 30, i);
      }
      return b;
    };
    const audio = Buffer.concat([noise(2000), goforward, noise(2000), goforward, noise(1000)]);
    const target = url(server);
    const c = await open(target, signed(target));
    c.send(START_16K);
    await c.waitFor('START');
    await streamFile(c, audio);
    // No END yet: the first sentence must arrive on its own.
    const first = await c.waitFor('RESULT');
    expect(c.messages.some((m) => m.resp_type === 'END')).toBe(false);
    c.send({ command: 'END', cancel: false });
    await c.waitFor('END');
    const finals = c.messages.flatMap((m) => (m.resp_type === 'RESULT' ? m.segments : []));
    expect(first.resp_type === 'RESULT' && first.segments[0]?.start_time).toBeGreaterThan(2000);
    expect(finals.length).toBeGreaterThanOrEqual(2);
    const last = finals.at(-1)!;
    expect(last.result?.text).toBe('go forward ten meters');
    const secondSpeechMs = ((2000 + goforward.length / 32 + 2000) | 0);
    expect(last.start_time).toBeGreaterThan(secondSpeechMs);
    expect(last.end_time).toBeLessThan(secondSpeechMs + 2800);
  });

  it('answers audio before START with an ERROR', async () => {
    const target = url(server);
    const c = await open(target, signed(target));
    c.send(goforward.subarray(0, 3200));
    expect(await c.waitFor('ERROR')).toMatchObject({ error_code: 'SIS.0032' });
    expect(c.messages.some((m) => m.resp_type === 'END')).toBe(false);
  });

  it('answers a property/format sample-rate mismatch with ERROR SIS.0301', async () => {
    const target = url(server);
    const c = await open(target, signed(target));
    c.send({ command: 'START', config: { audio_format: 'pcm8k16bit', property: 'chinese_16k_general' } });
    expect(await c.waitFor('ERROR')).toMatchObject({ resp_type: 'ERROR', error_code: 'SIS.0301', error_msg: "'audio_format' is not match model" });
    c.send({ command: 'START', config: { ...START_16K.config, bogus: 'x' } });
    expect(await c.waitFor('ERROR', 2)).toMatchObject({ error_code: 'SIS.0031' });
  });

  it('answers a too-small frame with ERROR, then END reason ERROR', async () => {
    const target = url(server);
    const c = await open(target, signed(target));
    c.send(START_16K);
    await c.waitFor('START');
    c.send(goforward.subarray(0, 100));
    expect(await c.waitFor('ERROR')).toMatchObject({ error_code: 'SIS.0032', error_msg: expect.stringContaining('[320, 65536]') });
    expect(await c.waitFor('END')).toMatchObject({ reason: 'ERROR' });
  });

  it('answers a second START with ERROR then END ERROR, and END cancel with END CANCEL', async () => {
    const target = url(server);
    const c = await open(target, signed(target));
    c.send(START_16K);
    await c.waitFor('START');
    c.send(START_16K);
    expect(await c.waitFor('ERROR')).toMatchObject({ error_code: 'SIS.0032' });
    expect(await c.waitFor('END')).toMatchObject({ reason: 'ERROR' });
    c.send(START_16K);
    await c.waitFor('START', 2);
    await streamFile(c, goforward.subarray(0, 32000));
    c.send({ command: 'END', cancel: true });
    expect(await c.waitFor('END', 2)).toMatchObject({ reason: 'CANCEL' });
  });

  it('emits VOICE_START / VOICE_END in sentence-stream and ignores audio after it', async () => {
    const target = url(server, 'sentence-stream');
    const c = await open(target, signed(target));
    c.send(START_16K);
    await c.waitFor('START');
    await streamFile(c, Buffer.concat([goforward, goforward]));
    await c.waitFor('EVENT', 2);
    c.send({ command: 'END', cancel: false });
    await c.waitFor('END');
    const kinds = c.messages.map((m) => (m.resp_type === 'EVENT' ? m.event : m.resp_type));
    expect(kinds).toEqual(['START', 'VOICE_START', 'RESULT', 'VOICE_END', 'END']);
  });

  it('sends EXCEEDED_SILENCE in sentence-stream after vad_head ms without voice', async () => {
    const target = url(server, 'sentence-stream');
    const c = await open(target, signed(target));
    c.send({ command: 'START', config: { ...START_16K.config, vad_head: 1000 } });
    await c.waitFor('START');
    await streamFile(c, Buffer.alloc(48_000)); // 1.5 s of digital silence
    expect(await c.waitFor('EVENT')).toMatchObject({ event: 'EXCEEDED_SILENCE', timestamp: 1000 });
    c.send({ command: 'END', cancel: false });
    expect(await c.waitFor('END')).toMatchObject({ reason: 'NORMAL' });
    expect(c.messages.some((m) => m.resp_type === 'RESULT')).toBe(false);
  });

  it('decodes A-law 8 kHz audio', async () => {
    // 16 kHz → 8 kHz by dropping every other sample, then G.711 A-law encode (ITU reference).
    const alaw = Buffer.alloc(goforward.length / 4);
    for (let i = 0; i < alaw.length; i++) alaw[i] = linearToAlaw(goforward.readInt16LE(i * 4));
    const target = url(server);
    const c = await open(target, signed(target));
    c.send({ command: 'START', config: { audio_format: 'alaw8k8bit', property: 'english_8k_common' } });
    await c.waitFor('START');
    await streamFile(c, alaw, 1600);
    c.send({ command: 'END', cancel: false });
    await c.waitFor('END');
    const text = c.messages.flatMap((m) => (m.resp_type === 'RESULT' ? m.segments : [])).map((s) => s.result?.text).join(' ');
    expect(text).toMatch(/^go forward/);
  });
});

describe('SIS server timeouts and faults', () => {
  it('sends FATAL_ERROR SIS.0304 after the idle timeout and closes', async () => {
    await using idle = await startSisServer({ ...CREDS, idleTimeoutMs: 500 });
    const target = url(idle);
    const c = await open(target, signed(target));
    c.send(START_16K);
    await c.waitFor('START');
    expect(await c.waitFor('FATAL_ERROR')).toMatchObject({ error_code: 'SIS.0304', error_msg: 'wait voice timeout', trace_id: c.messages[0]?.trace_id });
    await c.closeCode;
    await waitFor(() => idle.connectionCount === 0, { what: 'idle connection to close' });
  });

  it('closes connections that reach maxConnectionMs', async () => {
    await using capped = await startSisServer({ ...CREDS, maxConnectionMs: 300 });
    const target = url(capped);
    const c = await open(target, signed(target));
    expect(await c.closeCode).toBe(1000);
    await waitFor(() => capped.connectionCount === 0, { what: 'capped connection to close' });
  });

  it('drops the socket after N audio bytes, once', async () => {
    await using faulty = await startSisServer({ ...CREDS, faults: { dropAfterAudioBytes: 32000 } });
    const target = url(faulty);
    const c = await open(target, signed(target));
    c.send(START_16K);
    await c.waitFor('START');
    await streamFile(c, goforward);
    expect(await c.closeCode).toBe(1006);
    const again = await open(target, signed(target));
    again.send(START_16K);
    await again.waitFor('START');
    await streamFile(again, goforward);
    again.send({ command: 'END' });
    expect(await again.waitFor('END')).toMatchObject({ reason: 'NORMAL' });
  });

  it('stays silent after START when asked to', async () => {
    await using quiet = await startSisServer({ ...CREDS, idleTimeoutMs: 200, faults: { silent: true } });
    const target = url(quiet);
    const c = await open(target, signed(target));
    c.send(START_16K);
    await streamFile(c, goforward.subarray(0, 6400));
    // A pong proves the server has read everything sent before the ping (frames are in order).
    let pongs = 0;
    c.ws.on('pong', () => pongs++);
    for (let i = 0; i < 3; i++) {
      c.ws.ping();
      await waitFor(() => pongs > i, { what: 'pong' });
    }
    expect(c.messages).toEqual([]);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });
});

/** ITU-T G.711 A-law compression of one 16-bit sample. */
function linearToAlaw(sample: number): number {
  let s = sample >> 3; // 13-bit magnitude
  let mask: number;
  if (s >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    s = -s - 1;
  }
  const segEnds = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
  const seg = segEnds.findIndex((end) => s <= end);
  if (seg < 0) return 0x7f ^ mask;
  const aval = (seg << 4) | (seg < 2 ? (s >> 1) & 0xf : (s >> seg) & 0xf);
  return aval ^ mask;
}
