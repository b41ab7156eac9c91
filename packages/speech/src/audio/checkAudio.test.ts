import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAudioFile } from './checkAudio.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'obsq-check-audio-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A WAV file with the given fmt fields and `data` (declared size overridable). */
function wav(o: { rate?: number; channels?: number; bits?: number; blockAlign?: number; byteRate?: number; data: Buffer; declared?: number; tag?: number }): Buffer {
  const channels = o.channels ?? 1;
  const bits = o.bits ?? 16;
  const rate = o.rate ?? 16000;
  const blockAlign = o.blockAlign ?? (channels * bits) / 8;
  const fmt = Buffer.alloc(24);
  fmt.write('fmt ', 0, 'latin1');
  fmt.writeUInt32LE(16, 4);
  fmt.writeUInt16LE(o.tag ?? 1, 8);
  fmt.writeUInt16LE(channels, 10);
  fmt.writeUInt32LE(rate, 12);
  fmt.writeUInt32LE(o.byteRate ?? (rate * blockAlign) % 2 ** 32, 16);
  fmt.writeUInt16LE(blockAlign, 20);
  fmt.writeUInt16LE(bits, 22);
  const dataHead = Buffer.alloc(8);
  dataHead.write('data', 0, 'latin1');
  dataHead.writeUInt32LE(o.declared ?? o.data.length, 4);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(4 + fmt.length + 8 + o.data.length, 4);
  riff.write('WAVE', 8, 'latin1');
  return Buffer.concat([riff, fmt, dataHead, o.data]);
}

/** A 440 Hz tone: what real audio looks like to the random-bytes check. */
function tone(samples: number): Buffer {
  const b = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000)), i * 2);
  return b;
}

async function check(name: string, bytes: Buffer, rawFormat = 'pcm16k16bit') {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return checkAudioFile(path, { rawFormat, name });
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected OBSQ_AUDIO_INVALID');
    },
    (e: unknown) => e as { code: string; message: string; permanent: boolean },
  );

describe('checkAudioFile', () => {
  it('accepts real audio: a WAV tone, raw PCM, silence, a streamed (0xFFFFFFFF) data size, the PocketSphinx sample', async () => {
    expect(await check('tone.wav', wav({ data: tone(16000) }))).toEqual({ kind: 'wav', dataBytes: 32000 });
    expect(await check('tone.raw', tone(16000))).toEqual({ kind: 'raw', dataBytes: 32000 });
    expect((await check('silence.raw', Buffer.alloc(32000))).kind).toBe('raw');
    expect((await check('streamed.wav', wav({ data: tone(8000), declared: 0xffffffff }))).dataBytes).toBe(16000);
    expect((await check('stereo.wav', wav({ data: tone(8000), channels: 2, rate: 44100 }))).kind).toBe('wav');
    const goforward = '/usr/share/pocketsphinx/test/data/goforward.raw';
    await checkAudioFile(goforward, { rawFormat: 'pcm16k16bit' }).catch((err: { code?: string }) => {
      if (err.code !== 'ENOENT') throw err;
    });
  });

  it.each([
    ['empty.wav', Buffer.alloc(0), /is empty \(0 bytes\)/],
    ['random.raw', randomBytes(64 * 1024), /looks like random bytes, not pcm16k16bit audio/],
    ['random.wav', wav({ data: randomBytes(64 * 1024) }), /WAV samples look like random bytes/],
    ['4ghz.wav', wav({ data: tone(1000), rate: 4_000_000_000 }), /sample rate of 4000000000 Hz/],
    ['0ch.wav', wav({ data: tone(1000), channels: 0, blockAlign: 2 }), /declares 0 channels/],
    ['99ch.wav', wav({ data: tone(1000), channels: 99 }), /declares 99 channels/],
    ['12bit.wav', wav({ data: tone(1000), bits: 12, blockAlign: 2 }), /12 bits per sample/],
    ['align.wav', wav({ data: tone(1000), blockAlign: 7 }), /block alignment of 7 bytes/],
    ['rate.wav', wav({ data: tone(1000), byteRate: 1 }), /declares 1 bytes per second/],
    ['truncated.wav', wav({ data: tone(1000), declared: 1_000_000 }), /declares 1000000 bytes of samples but the file holds 2000 \(truncated\)/],
    ['nodata.wav', wav({ data: tone(1000) }).subarray(0, 36), /no data chunk/],
    ['nofmt.wav', Buffer.concat([Buffer.from('RIFF\x10\x00\x00\x00WAVE', 'latin1'), Buffer.alloc(4)]), /no fmt chunk/],
    ['doc.pdf', Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj'), /is a PDF document/],
    ['notes.txt', Buffer.from('This is not audio at all, just a plain text file with some words in it.\n'.repeat(4)), /looks like text/],
    ['song.mp3', Buffer.concat([Buffer.from('ID3\x04\x00', 'latin1'), randomBytes(1000)]), /MP3 audio/],
    ['image.png', Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), randomBytes(100)]), /PNG image/],
  ])('refuses %s with OBSQ_AUDIO_INVALID', async (name, bytes, why) => {
    const err = await refusal(check(name, bytes));
    expect(err.code).toBe('OBSQ_AUDIO_INVALID');
    expect(err.permanent).toBe(true);
    expect(err.message).toMatch(why);
    expect(err.message).toContain(name);
  });
});
