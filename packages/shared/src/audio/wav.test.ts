import { describe, expect, it } from 'vitest';
import { audioByteOffset, audioDurationMs } from './audioFormat.js';
import { assertFormatMatchesProperty } from './formatMismatch.js';
import { toPcm16 } from './g711.js';
import { prepareAudio } from './prepareAudio.js';
import { parseWav, WAVE_FORMAT } from './wav.js';

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
