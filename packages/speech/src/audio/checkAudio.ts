import { open } from 'node:fs/promises';
import { ObsqError } from '@obsq/shared';
import { WAVE_FORMAT, isWav } from './wav.js';

/** Options of {@link checkAudioFile}. */
export interface CheckAudioOptions {
  /** RASR `audioFormat` the request declares (used for headerless input), e.g. `pcm16k16bit`. */
  rawFormat?: string;
  /** Name used in messages (the file path may be a `/proc` descriptor name). @defaultValue the path */
  name?: string;
}

/** What {@link checkAudioFile} found. */
export interface AudioCheck {
  kind: 'wav' | 'raw';
  /** Bytes of sample data. */
  dataBytes: number;
}

/** Bytes read from the start of the file for the checks: headers and a window of samples. */
const HEAD_BYTES = 256 * 1024;

const invalid = (name: string, why: string) => new ObsqError('OBSQ_AUDIO_INVALID', `audio ${name}: ${why}`, { permanent: true });

/** Magic numbers of common files that are not audio obsq can recognise, and what they are. */
const SIGNATURES: ReadonlyArray<[RegExp, string]> = [
  [/^%PDF-/, 'a PDF document'],
  [/^PK\x03\x04/, 'a ZIP archive (or an office document)'],
  [/^\x89PNG/, 'a PNG image'],
  [/^\xff\xd8\xff/, 'a JPEG image'],
  [/^GIF8/, 'a GIF image'],
  [/^\x1f\x8b/, 'gzip-compressed data'],
  [/^\x7fELF/, 'an executable'],
  // Only the ID3 tag: an MP3 frame sync (0xFFEx) is also a plausible first PCM sample.
  [/^ID3/, 'MP3 audio (convert it to WAV or raw PCM first)'],
  [/^OggS/, 'Ogg audio (convert it to WAV or raw PCM first)'],
  [/^fLaC/, 'FLAC audio (convert it to WAV or raw PCM first)'],
  [/^....ftyp/s, 'MP4/M4A media (convert it to WAV or raw PCM first)'],
  [/^\x1aE\xdf\xa3/, 'Matroska/WebM media (convert it to WAV or raw PCM first)'],
];

/** Sample rates a real recording can have. */
const RATE_MIN = 1_000;
const RATE_MAX = 384_000;
const CHANNELS_MAX = 32;
const BITS = new Set([8, 16, 24, 32, 64]);
/** Format tags whose block alignment and byte rate follow from channels and bits. */
const PLAIN_TAGS = new Set<number>([WAVE_FORMAT.PCM, WAVE_FORMAT.IEEE_FLOAT, WAVE_FORMAT.ALAW, WAVE_FORMAT.MULAW]);

/**
 * True when 16-bit little-endian samples look like uniformly random bytes rather than sound: sound
 * (speech above all) is dominated by low frequencies, so neighbouring samples correlate strongly,
 * while random bytes give full-scale values with no correlation. Needs a few thousand samples.
 */
export function looksRandomPcm16(buf: Buffer): boolean {
  const n = Math.floor(buf.length / 2);
  if (n < 4096) return false;
  let sum = 0;
  let sumAbs = 0;
  for (let i = 0; i < n; i++) {
    const s = buf.readInt16LE(i * 2);
    sum += s;
    sumAbs += Math.abs(s);
  }
  const mean = sum / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const d = buf.readInt16LE(i * 2) - mean;
    den += d * d;
    if (i > 0) num += d * (buf.readInt16LE((i - 1) * 2) - mean);
  }
  if (den === 0) return false; // silence is audio
  const r = num / den;
  return Math.abs(r) < 0.15 && sumAbs / n > 8_000;
}

function looksLikeText(head: Buffer): boolean {
  const window = head.subarray(0, 4096);
  if (window.length < 64) return false;
  for (const b of window) if (!(b === 9 || b === 10 || b === 13 || (b >= 0x20 && b < 0x7f))) return false;
  return true;
}

/**
 * Checks that a file is usable audio before anything is sent to a recogniser, so garbage fails with
 * one clear code instead of an empty transcript: not empty; not another kind of file (PDF, ZIP,
 * image, text, compressed audio); a WAV header with a sane layout (1 kHz–384 kHz, 1–32 channels,
 * 8/16/24/32/64-bit, consistent block alignment and byte rate), a data chunk, not truncated (a data
 * size of 0 or 0xFFFFFFFF is a streaming writer's placeholder and accepted); and 16-bit PCM that
 * is not random bytes.
 * @throws ObsqError `OBSQ_AUDIO_INVALID` (permanent) naming the problem
 */
export async function checkAudioFile(path: string, options: CheckAudioOptions = {}): Promise<AudioCheck> {
  const name = options.name ?? path;
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    if (size === 0) throw invalid(name, 'is empty (0 bytes)');
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
    await file.read(head, 0, head.length, 0);
    if (isWav(head)) return await checkWav(file, size, head, name);
    const latin = head.toString('latin1', 0, 16);
    for (const [re, what] of SIGNATURES) if (re.test(latin)) throw invalid(name, `is ${what}, not WAV or headerless audio`);
    if (head.toString('latin1', 0, 4) === 'RIFF') throw invalid(name, 'is a RIFF file but not WAVE (e.g. AVI or WebP)');
    if (looksLikeText(head)) throw invalid(name, 'looks like text, not audio');
    const format = options.rawFormat ?? '';
    if (format.endsWith('16bit')) {
      if (size < 2) throw invalid(name, `is ${size} byte, less than one 16-bit sample`);
      if (looksRandomPcm16(head.subarray(0, head.length - (head.length % 2)))) {
        throw invalid(name, `looks like random bytes, not ${format} audio (full-scale samples with no correlation between neighbours)`);
      }
    }
    return { kind: 'raw', dataBytes: size };
  } finally {
    await file.close();
  }
}

async function checkWav(file: Awaited<ReturnType<typeof open>>, size: number, head: Buffer, name: string): Promise<AudioCheck> {
  let fmt: { tag: number; channels: number; rate: number; byteRate: number; blockAlign: number; bits: number } | undefined;
  let data: { offset: number; declared: number } | undefined;
  let pos = 12;
  const header = Buffer.alloc(8);
  // The chunk walk reads 8-byte headers positionally: chunks before `data` can be anywhere.
  for (let chunks = 0; pos + 8 <= size && chunks < 1000; chunks++) {
    const { bytesRead } = await file.read(header, 0, 8, pos);
    if (bytesRead < 8) break;
    const id = header.toString('latin1', 0, 4);
    const declared = header.readUInt32LE(4);
    if (id === 'fmt ') {
      const body = Buffer.alloc(Math.min(16, Math.max(0, size - pos - 8)));
      await file.read(body, 0, body.length, pos + 8);
      if (declared < 16 || body.length < 16) throw invalid(name, `WAV fmt chunk is ${Math.min(declared, body.length)} bytes, need at least 16 (truncated or damaged)`);
      let tag = body.readUInt16LE(0);
      if (tag === WAVE_FORMAT.EXTENSIBLE && declared >= 40) {
        const ext = Buffer.alloc(2);
        await file.read(ext, 0, 2, pos + 8 + 24);
        tag = ext.readUInt16LE(0);
      }
      fmt = { tag, channels: body.readUInt16LE(2), rate: body.readUInt32LE(4), byteRate: body.readUInt32LE(8), blockAlign: body.readUInt16LE(12), bits: body.readUInt16LE(14) };
    } else if (id === 'data') {
      data = { offset: pos + 8, declared };
      break;
    }
    if (declared === 0xffffffff) break;
    pos += 8 + declared + (declared % 2);
  }
  if (!fmt) throw invalid(name, 'WAV file has no fmt chunk (truncated or damaged header)');
  if (fmt.channels < 1 || fmt.channels > CHANNELS_MAX) throw invalid(name, `WAV header declares ${fmt.channels} channels (must be 1 to ${CHANNELS_MAX})`);
  if (fmt.rate < RATE_MIN || fmt.rate > RATE_MAX) throw invalid(name, `WAV header declares a sample rate of ${fmt.rate} Hz (must be ${RATE_MIN} to ${RATE_MAX} Hz)`);
  if (!BITS.has(fmt.bits)) throw invalid(name, `WAV header declares ${fmt.bits} bits per sample (must be 8, 16, 24, 32 or 64)`);
  const frame = (fmt.bits / 8) * fmt.channels;
  const known = PLAIN_TAGS.has(fmt.tag);
  if (known && fmt.blockAlign !== frame) throw invalid(name, `WAV header declares a block alignment of ${fmt.blockAlign} bytes, but ${fmt.channels} × ${fmt.bits}-bit samples need ${frame}`);
  if (known && fmt.byteRate !== fmt.rate * frame) throw invalid(name, `WAV header declares ${fmt.byteRate} bytes per second, but ${fmt.rate} Hz × ${frame} bytes is ${fmt.rate * frame}`);
  if (!data) throw invalid(name, 'WAV file has no data chunk (truncated or damaged)');
  const available = size - data.offset;
  const placeholder = data.declared === 0 || data.declared === 0xffffffff;
  if (!placeholder && data.declared > available) {
    throw invalid(name, `WAV data chunk declares ${data.declared} bytes of samples but the file holds ${available} (truncated)`);
  }
  const dataBytes = placeholder ? available : data.declared;
  if (dataBytes < frame) throw invalid(name, 'WAV file holds no samples');
  if (fmt.tag === WAVE_FORMAT.PCM && fmt.bits === 16 && fmt.channels === 1) {
    const start = data.offset;
    const window = head.length > start ? head.subarray(start, Math.min(head.length, start + dataBytes)) : Buffer.alloc(0);
    if (looksRandomPcm16(window.subarray(0, window.length - (window.length % 2)))) {
      throw invalid(name, 'WAV samples look like random bytes, not sound (full-scale samples with no correlation between neighbours)');
    }
  }
  return { kind: 'wav', dataBytes };
}
