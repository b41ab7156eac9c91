import { spawnSync } from 'node:child_process';
import { mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audioByteOffset, audioDurationMs } from './audioFormat.js';
import { bufferAudioRange, fileAudioRange, type AudioRange } from './audioRange.js';
import { assertFormatMatchesProperty } from './formatMismatch.js';
import { toPcm16, toPcm16Chunks } from './g711.js';
import { openAudio } from './openAudio.js';
import { prepareAudio } from './prepareAudio.js';
import { parseWav, readWavHeader, WAVE_FORMAT } from './wav.js';

const haveSox = spawnSync('sox', ['--version'], { stdio: 'ignore' }).status === 0;
// Outside CI a missing sox skips its test; under CI (CI=true) the test runs and fails with the install command.
const skipWithoutSox = !haveSox && process.env.CI !== 'true' && process.env.CI !== '1';

interface WavSpec {
  tag: number;
  channels?: number;
  rate?: number;
  bits?: number;
  data: Buffer;
  extensible?: boolean;
  /** Chunks written before `data` (odd sizes exercise the pad byte). */
  before?: Array<[string, Buffer]>;
  /** Chunks written after `data`. */
  after?: Array<[string, Buffer]>;
  /** Size written in the data chunk header (streamed files use 0xFFFFFFFF). */
  declaredDataSize?: number;
}

function chunk(id: string, body: Buffer, declared = body.length): Buffer {
  const head = Buffer.alloc(8);
  head.write(id, 0, 'latin1');
  head.writeUInt32LE(declared, 4);
  return Buffer.concat([head, body, body.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

function makeWav(spec: WavSpec): Buffer {
  const channels = spec.channels ?? 1;
  const rate = spec.rate ?? 16000;
  const bits = spec.bits ?? 16;
  const blockAlign = (channels * bits) / 8;
  const fmt = Buffer.alloc(spec.extensible ? 40 : 16);
  fmt.writeUInt16LE(spec.extensible ? WAVE_FORMAT.EXTENSIBLE : spec.tag, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(rate, 4);
  fmt.writeUInt32LE(rate * blockAlign, 8);
  fmt.writeUInt16LE(blockAlign, 12);
  fmt.writeUInt16LE(bits, 14);
  if (spec.extensible) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(bits, 18);
    fmt.writeUInt32LE(channels === 1 ? 4 : 3, 20);
    // SubFormat GUID {0000xxxx-0000-0010-8000-00aa00389b71}: the tag is its first two bytes.
    Buffer.from('000000000010800000aa00389b71', 'hex').copy(fmt, 26);
    fmt.writeUInt16LE(spec.tag, 24);
  }
  const body = Buffer.concat([
    Buffer.from('WAVE', 'latin1'),
    ...(spec.before ?? []).map(([id, b]) => chunk(id, b)),
    chunk('fmt ', fmt),
    chunk('data', spec.data, spec.declaredDataSize),
    ...(spec.after ?? []).map(([id, b]) => chunk(id, b)),
  ]);
  return Buffer.concat([Buffer.from('RIFF', 'latin1'), Buffer.from(Uint32Array.of(body.length).buffer), body]);
}

const pcm = Buffer.from(Int16Array.from({ length: 800 }, (_, i) => Math.round(Math.sin(i / 5) * 8000)).buffer);

describe('parseWav', () => {
  it('finds fmt and data after odd-sized chunks (pad byte) and ignores trailing chunks', () => {
    const wav = makeWav({
      tag: WAVE_FORMAT.PCM,
      data: pcm,
      before: [['LIST', Buffer.from('odd')], ['junk', Buffer.alloc(5, 1)]],
      after: [['id3 ', Buffer.from('x')]],
    });
    const info = parseWav(wav);
    expect(info).toMatchObject({ formatTag: 1, channels: 1, sampleRateHz: 16000, bitsPerSample: 16, extensible: false });
    expect(info.data.equals(pcm)).toBe(true);
  });

  it('reads the real tag out of WAVE_FORMAT_EXTENSIBLE', () => {
    const info = parseWav(makeWav({ tag: WAVE_FORMAT.PCM, extensible: true, rate: 8000, data: pcm }));
    expect(info).toMatchObject({ formatTag: 1, extensible: true, sampleRateHz: 8000 });
  });

  it('takes what is there when the data size is streamed (0xFFFFFFFF)', () => {
    const info = parseWav(makeWav({ tag: WAVE_FORMAT.PCM, data: pcm, declaredDataSize: 0xffffffff }));
    expect(info.data.equals(pcm)).toBe(true);
  });

  it('trims a partial sample frame off an odd-sized data chunk', () => {
    const info = parseWav(makeWav({ tag: WAVE_FORMAT.PCM, data: Buffer.concat([pcm, Buffer.from([7])]), after: [['id3 ', Buffer.from('x')]] }));
    expect(info.data.equals(pcm)).toBe(true);
  });

  it('refuses files without fmt or data, as permanent OBSQ_AUDIO', () => {
    expect(() => parseWav(Buffer.from('RIFF\x04\x00\x00\x00WAVE', 'latin1'))).toThrow(
      expect.objectContaining({ code: 'OBSQ_AUDIO', permanent: true, message: expect.stringMatching(/no fmt chunk/) }),
    );
  });
});

describe('prepareAudio', () => {
  it.each([
    [WAVE_FORMAT.PCM, 16, 16000, 'pcm16k16bit'],
    [WAVE_FORMAT.PCM, 16, 8000, 'pcm8k16bit'],
    [WAVE_FORMAT.ALAW, 8, 8000, 'alaw8k8bit'],
    [WAVE_FORMAT.MULAW, 8, 16000, 'ulaw16k8bit'],
  ] as const)('passes tag %i, %i-bit, %i Hz through as %s', async (tag, bits, rate, format) => {
    const data = bits === 8 ? Buffer.alloc(400, 0xd5) : pcm;
    const out = await prepareAudio(makeWav({ tag, bits, rate, data, extensible: tag === WAVE_FORMAT.PCM && rate === 8000 }));
    expect(out).toMatchObject({ format, source: 'wav' });
    expect(out.audio.equals(data)).toBe(true);
    expect(out.durationMs).toBe(audioDurationMs(data.length, format));
  });

  it('takes the format of raw input from the options, and needs one', async () => {
    await expect(prepareAudio(pcm, { format: 'pcm8k16bit' })).resolves.toMatchObject({ format: 'pcm8k16bit', durationMs: 100 });
    await expect(prepareAudio(pcm)).rejects.toMatchObject({ code: 'OBSQ_VALIDATION', permanent: true });
  });

  it('refuses a property of another sample rate with SIS.0301 before connecting', async () => {
    await expect(prepareAudio(pcm, { format: 'pcm16k16bit', property: 'chinese_8k_common' })).rejects.toMatchObject({
      code: 'OBSQ_SIS',
      permanent: true,
      details: { error_code: 'SIS.0301', error_msg: "'audio_format' is not match model" },
    });
    expect(() => assertFormatMatchesProperty('alaw8k8bit', 'chinese_8k_common')).not.toThrow();
  });

  it('refuses layouts SIS cannot take when conversion is off, naming the layout and the fix', async () => {
    const stereo = makeWav({ tag: WAVE_FORMAT.PCM, channels: 2, rate: 44100, data: pcm });
    await expect(prepareAudio(stereo, { convert: false })).rejects.toMatchObject({
      code: 'OBSQ_AUDIO',
      permanent: true,
      message: expect.stringMatching(/44100 Hz, 2 channels, 16-bit PCM.*apt-get install sox/),
    });
    await expect(prepareAudio(stereo, { soxPath: '/nonexistent/sox' })).rejects.toMatchObject({ code: 'OBSQ_AUDIO' });
  });
});

describe('durations and G.711', () => {
  it('converts between bytes and ms on whole samples', () => {
    expect(audioDurationMs(32000, 'pcm16k16bit')).toBe(1000);
    expect(audioDurationMs(8000, 'alaw8k8bit')).toBe(1000);
    expect(audioDurationMs(89160, 'pcm16k16bit')).toBe(2786);
    expect(audioByteOffset(1234, 'pcm16k16bit')).toBe(1234 * 32);
    expect(audioByteOffset(1, 'ulaw8k8bit')).toBe(8);
    expect(audioByteOffset(-5, 'pcm8k16bit')).toBe(0);
  });

  it('decodes A-law and µ-law silence and extremes to the G.711 reference values', () => {
    const a = toPcm16(Buffer.from([0xd5, 0x55, 0xaa, 0x2a]), 'alaw8k8bit');
    expect(a.format).toBe('pcm8k16bit');
    expect([...new Int16Array(a.pcm.buffer, a.pcm.byteOffset, 4)]).toEqual([8, -8, 32256, -32256]);
    const u = toPcm16(Buffer.from([0xff, 0x7f, 0x80, 0x00]), 'ulaw16k8bit');
    expect(u.format).toBe('pcm16k16bit');
    expect([...new Int16Array(u.pcm.buffer, u.pcm.byteOffset, 4)]).toEqual([0, 0, 32124, -32124]);
  });
});

async function collect(chunks: AsyncIterable<Buffer>): Promise<{ data: Buffer; sizes: number[] }> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return { data: Buffer.concat(parts), sizes: parts.map((p) => p.length) };
}

describe('reading audio from files without loading them', () => {
  let dir: string;
  let n = 0;
  const file = async (content: Buffer) => {
    const path = join(dir, `f${n++}`);
    await writeFile(path, content);
    return path;
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'obsq-audio-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['odd-sized chunks before, a chunk after', { tag: WAVE_FORMAT.PCM, data: pcm, before: [['LIST', Buffer.from('odd')], ['junk', Buffer.alloc(5, 1)]], after: [['id3 ', Buffer.from('x')]] }],
    ['extensible', { tag: WAVE_FORMAT.PCM, extensible: true, rate: 8000, data: pcm }],
    ['streamed size', { tag: WAVE_FORMAT.PCM, data: pcm, declaredDataSize: 0xffffffff }],
    ['partial frame', { tag: WAVE_FORMAT.PCM, data: Buffer.concat([pcm, Buffer.from([7])]), after: [['id3 ', Buffer.from('x')]] }],
    ['a 1 MiB chunk before data', { tag: WAVE_FORMAT.ALAW, bits: 8, rate: 8000, data: Buffer.alloc(999, 0xd5), before: [['LIST', Buffer.alloc(2 ** 20)]] }],
  ] as Array<[string, WavSpec]>)('readWavHeader on a file finds what parseWav finds (%s)', async (_name, spec) => {
    const wav = makeWav(spec);
    const handle = await open(await file(wav));
    try {
      const header = await readWavHeader(handle, wav.length);
      const { data, ...fmt } = parseWav(wav);
      expect(header).toEqual({ ...fmt, dataOffset: data.byteOffset - wav.byteOffset, dataLength: data.length });
    } finally {
      await handle.close();
    }
  });

  it('readWavHeader refuses a file without fmt like parseWav', async () => {
    const bad = Buffer.from('RIFF\x04\x00\x00\x00WAVE', 'latin1');
    const handle = await open(await file(bad));
    await expect(readWavHeader(handle, bad.length)).rejects.toMatchObject({ code: 'OBSQ_AUDIO', permanent: true, message: expect.stringMatching(/no fmt chunk/) });
    await handle.close();
  });

  it('fileAudioRange reads in chunks of readBytes, slices without reading, and reports a short file', async () => {
    const content = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
    const handle = await open(await file(content));
    try {
      const range = fileAudioRange({ file: handle, path: 'x', offset: 100, byteLength: 9_000, readBytes: 4_096 });
      const all = await collect(range.chunks());
      expect(all.sizes).toEqual([4096, 4096, 808]);
      expect(all.data.equals(content.subarray(100, 9_100))).toBe(true);
      const part = range.slice(5_000, 20_000);
      expect(part.byteLength).toBe(4_000);
      expect((await collect(part.chunks())).data.equals(content.subarray(5_100, 9_100))).toBe(true);
      const beyond = fileAudioRange({ file: handle, path: 'short.raw', offset: 9_000, byteLength: 2_000 });
      await expect(collect(beyond.chunks())).rejects.toMatchObject({ code: 'OBSQ_AUDIO', permanent: true, message: expect.stringMatching(/short\.raw ended at byte 10000/) });
      const ac = new AbortController();
      ac.abort();
      await expect(collect(range.chunks({ signal: ac.signal }))).rejects.toMatchObject({ code: 'OBSQ_ABORTED' });
    } finally {
      await handle.close();
    }
  });

  it('openAudio on a WAV path reads the header only and streams the same samples as prepareAudio on the bytes', async () => {
    const data = Buffer.concat(Array.from({ length: 50 }, () => pcm));
    const wav = makeWav({ tag: WAVE_FORMAT.PCM, data, before: [['LIST', Buffer.from('odd')]] });
    const source = await openAudio(await file(wav), { readBytes: 1_000 });
    try {
      expect(source).toMatchObject({ format: 'pcm16k16bit', source: 'wav', durationMs: audioDurationMs(data.length, 'pcm16k16bit') });
      const read = await collect(source.data.chunks());
      expect(Math.max(...read.sizes)).toBe(1_000);
      expect(read.data.equals(data)).toBe(true);
      expect((await prepareAudio(wav)).audio.equals(data)).toBe(true);
    } finally {
      await source.close();
      await source.close();
    }
  });

  it('openAudio on a raw path needs a format, trims to whole samples and refuses a property mismatch', async () => {
    const path = await file(Buffer.concat([pcm, Buffer.from([1])]));
    const source = await openAudio(path, { format: 'pcm16k16bit' });
    expect(source.data.byteLength).toBe(pcm.length);
    await source.close();
    await expect(openAudio(path)).rejects.toMatchObject({ code: 'OBSQ_VALIDATION' });
    await expect(openAudio(path, { format: 'pcm16k16bit', property: 'chinese_8k_common' })).rejects.toMatchObject({ details: { error_code: 'SIS.0301' } });
    await expect(openAudio(join(dir, 'missing.raw'), { format: 'pcm16k16bit' })).rejects.toMatchObject({
      code: 'OBSQ_AUDIO',
      permanent: true,
      message: expect.stringMatching(/cannot read audio file .*missing\.raw.*ENOENT/),
    });
  });

  it.skipIf(skipWithoutSox)('sox converts a path file to file (same samples as the in-memory conversion) and close() removes its copy', async () => {
    expect(haveSox, 'sox is missing: install it with `apt-get install -y sox` (scripts/bootstrap.sh does this)').toBe(true);
    const stereo = makeWav({ tag: WAVE_FORMAT.PCM, channels: 2, rate: 44100, data: Buffer.concat(Array.from({ length: 20 }, () => pcm)) });
    const soxDir = await mkdtemp(join(dir, 'sox-'));
    const source = await openAudio(await file(stereo), { tmpDir: soxDir, property: 'english_8k_common' });
    expect(source).toMatchObject({ format: 'pcm8k16bit', source: 'sox', inputDescription: '44100 Hz, 2 channels, 16-bit PCM' });
    expect(await readdir(soxDir)).toHaveLength(1);
    const streamed = (await collect(source.data.chunks())).data;
    const mem = (await prepareAudio(stereo, { property: 'english_8k_common' })).audio;
    expect(streamed.length).toBe(mem.length);
    // sox dithers its 16-bit output, so runs differ by a few LSB.
    const a = new Int16Array(streamed.buffer, streamed.byteOffset, streamed.length / 2);
    const b = new Int16Array(mem.buffer, mem.byteOffset, mem.length / 2);
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeLessThanOrEqual(4);
    await source.close();
    expect(await readdir(soxDir)).toEqual([]);
  });

  it('decodes G.711 chunk by chunk to the same PCM as all at once', async () => {
    const alaw = Buffer.from(Array.from({ length: 3_001 }, (_, i) => (i * 37) % 256));
    const range: AudioRange = bufferAudioRange(alaw);
    async function* pieces() {
      for (let i = 0; i < alaw.length; i += 700) yield* range.slice(i, i + 700).chunks();
    }
    const streamed = (await collect(toPcm16Chunks(pieces(), 'alaw8k8bit'))).data;
    expect(streamed.equals(toPcm16(alaw, 'alaw8k8bit').pcm)).toBe(true);
  });
});
