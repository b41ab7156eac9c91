import type { FileHandle } from 'node:fs/promises';
import { ObsqError } from '@obsq/shared';

/** WAVE format tags obsq cares about (`wFormatTag`, or the first two bytes of the extensible SubFormat GUID). */
export const WAVE_FORMAT = {
  PCM: 0x0001,
  IEEE_FLOAT: 0x0003,
  ALAW: 0x0006,
  MULAW: 0x0007,
  EXTENSIBLE: 0xfffe,
} as const;

/** The layout of a RIFF/WAVE file and where its sample data lies, without the data itself. */
export interface WavHeader {
  /**
   * Effective format tag: for `WAVE_FORMAT_EXTENSIBLE` files this is the tag inside the SubFormat
   * GUID (so an extensible PCM file reports 1).
   */
  formatTag: number;
  /** True when the fmt chunk used `WAVE_FORMAT_EXTENSIBLE` (0xFFFE). */
  extensible: boolean;
  channels: number;
  /** Samples per second per channel. */
  sampleRateHz: number;
  /** Container bits per sample (8, 16, 24, 32, ...). */
  bitsPerSample: number;
  /** Bytes per sample frame (all channels). */
  blockAlign: number;
  /** Byte offset of the sample data from the start of the file. */
  dataOffset: number;
  /** Bytes of sample data, trimmed to whole sample frames (and to what the file holds). */
  dataLength: number;
}

/** What `parseWav` found in a RIFF/WAVE file held in memory. */
export interface WavInfo extends Omit<WavHeader, 'dataOffset' | 'dataLength'> {
  /** The sample data (a view into the input buffer, no copy), trimmed to whole sample frames. */
  data: Buffer;
}

/** Bytes that decide whether a file is WAV: `RIFF`, size, `WAVE`. */
export const WAV_MAGIC_BYTES = 12;

/** True when `buf` starts like a RIFF/WAVE file. */
export function isWav(buf: Buffer): boolean {
  return buf.length >= WAV_MAGIC_BYTES && buf.toString('latin1', 0, 4) === 'RIFF' && buf.toString('latin1', 8, 12) === 'WAVE';
}

function bad(message: string): ObsqError {
  return new ObsqError('OBSQ_AUDIO', `invalid WAV file: ${message}`, { permanent: true });
}

/** A request of the chunk walk: the bytes at `[pos, pos + length)` (fewer at the end of the file). */
interface ByteRequest {
  pos: number;
  length: number;
}

/**
 * Walks the chunk list of a WAV file of `fileSize` bytes, asking its driver for only the bytes it
 * needs (magic, chunk headers, the fmt body), so a file driver never reads sample data. Honours the
 * pad byte after odd-sized chunks, reads `fmt ` (including WAVE_FORMAT_EXTENSIBLE) and locates `data`.
 */
function* walkWav(fileSize: number): Generator<ByteRequest, WavHeader, Buffer> {
  if (!isWav(yield { pos: 0, length: WAV_MAGIC_BYTES })) throw bad('missing RIFF/WAVE header');
  let fmt: Omit<WavHeader, 'dataOffset' | 'dataLength'> | undefined;
  let data: { offset: number; length: number } | undefined;
  let pos = WAV_MAGIC_BYTES;
  while (pos + 8 <= fileSize) {
    const head = yield { pos, length: 8 };
    if (head.length < 8) break;
    const id = head.toString('latin1', 0, 4);
    const declared = head.readUInt32LE(4);
    const body = pos + 8;
    // Streamed writers leave the data size at 0 or 0xFFFFFFFF, and truncated files are common:
    // take what is there rather than refuse.
    const size = Math.min(declared, fileSize - body);
    if (id === 'fmt ') {
      if (size < 16) throw bad(`fmt chunk is ${size} bytes, need at least 16`);
      const f = yield { pos: body, length: Math.min(size, 40) };
      let formatTag = f.readUInt16LE(0);
      const extensible = formatTag === WAVE_FORMAT.EXTENSIBLE;
      if (extensible) {
        if (size < 40) throw bad(`WAVE_FORMAT_EXTENSIBLE fmt chunk is ${size} bytes, need 40`);
        formatTag = f.readUInt16LE(24);
      }
      fmt = {
        formatTag,
        extensible,
        channels: f.readUInt16LE(2),
        sampleRateHz: f.readUInt32LE(4),
        blockAlign: f.readUInt16LE(12),
        bitsPerSample: f.readUInt16LE(14),
      };
    } else if (id === 'data') {
      data = { offset: body, length: size };
      if (fmt) break;
    }
    pos = body + size + (size % 2);
  }
  if (!fmt) throw bad('no fmt chunk');
  if (!data) throw bad('no data chunk');
  if (fmt.channels < 1) throw bad('fmt chunk declares 0 channels');
  if (fmt.sampleRateHz < 1) throw bad('fmt chunk declares a 0 Hz sample rate');
  const frame = fmt.blockAlign || Math.ceil(fmt.bitsPerSample / 8) * fmt.channels;
  const length = frame > 0 ? data.length - (data.length % frame) : data.length;
  return { ...fmt, dataOffset: data.offset, dataLength: length };
}

/**
 * Parses a RIFF/WAVE file held in memory: walks the chunk list (honouring the pad byte after
 * odd-sized chunks), reads `fmt ` (including WAVE_FORMAT_EXTENSIBLE) and locates `data`.
 * Throws a permanent `OBSQ_AUDIO` error on a malformed file.
 */
export function parseWav(buf: Buffer): WavInfo {
  const walk = walkWav(buf.length);
  let step = walk.next(Buffer.alloc(0));
  while (!step.done) step = walk.next(buf.subarray(step.value.pos, step.value.pos + step.value.length));
  const { dataOffset, dataLength, ...fmt } = step.value;
  return { ...fmt, data: buf.subarray(dataOffset, dataOffset + dataLength) };
}

/**
 * Reads the header of the RIFF/WAVE file open as `file` (`size` bytes long) with positional reads
 * of the chunk headers and the fmt body only: the sample data is located, never read, so the cost
 * does not depend on the file's length. Same checks and errors as {@link parseWav}.
 */
export async function readWavHeader(file: FileHandle, size: number): Promise<WavHeader> {
  const walk = walkWav(size);
  let step = walk.next(Buffer.alloc(0));
  while (!step.done) {
    const want = Buffer.alloc(Math.max(0, Math.min(step.value.length, size - step.value.pos)));
    const { bytesRead } = want.length ? await file.read(want, 0, want.length, step.value.pos) : { bytesRead: 0 };
    step = walk.next(want.subarray(0, bytesRead));
  }
  return step.value;
}

/** Human description of a WAV layout for error messages, e.g. `44100 Hz, 2 channels, 16-bit PCM`. */
export function describeWav(info: Pick<WavInfo, 'formatTag' | 'channels' | 'sampleRateHz' | 'bitsPerSample'>): string {
  const names: Record<number, string> = {
    [WAVE_FORMAT.PCM]: 'PCM',
    [WAVE_FORMAT.IEEE_FLOAT]: 'float',
    [WAVE_FORMAT.ALAW]: 'A-law',
    [WAVE_FORMAT.MULAW]: 'µ-law',
  };
  const kind = names[info.formatTag] ?? `format tag 0x${info.formatTag.toString(16).padStart(4, '0')}`;
  const ch = info.channels === 1 ? '1 channel' : `${info.channels} channels`;
  return `${info.sampleRateHz} Hz, ${ch}, ${info.bitsPerSample}-bit ${kind}`;
}
