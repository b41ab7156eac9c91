import { ObsqError } from '../errors/index.js';

/** WAVE format tags obsq cares about (`wFormatTag`, or the first two bytes of the extensible SubFormat GUID). */
export const WAVE_FORMAT = {
  PCM: 0x0001,
  IEEE_FLOAT: 0x0003,
  ALAW: 0x0006,
  MULAW: 0x0007,
  EXTENSIBLE: 0xfffe,
} as const;

/** What `parseWav` found in a RIFF/WAVE file. */
export interface WavInfo {
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
  /** The sample data (a view into the input buffer, no copy), trimmed to whole sample frames. */
  data: Buffer;
}

/** True when `buf` starts like a RIFF/WAVE file. */
export function isWav(buf: Buffer): boolean {
  return buf.length >= 12 && buf.toString('latin1', 0, 4) === 'RIFF' && buf.toString('latin1', 8, 12) === 'WAVE';
}

function bad(message: string): ObsqError {
  return new ObsqError('OBSQ_AUDIO', `invalid WAV file: ${message}`, { permanent: true });
}

/**
 * Parses a RIFF/WAVE file held in memory: walks the chunk list (honouring the pad byte after
 * odd-sized chunks), reads `fmt ` (including WAVE_FORMAT_EXTENSIBLE) and locates `data`.
 * Throws a permanent `OBSQ_AUDIO` error on a malformed file.
 */
export function parseWav(buf: Buffer): WavInfo {
  if (!isWav(buf)) throw bad('missing RIFF/WAVE header');
  let fmt: Omit<WavInfo, 'data'> | undefined;
  let data: Buffer | undefined;
  let pos = 12;
  while (pos + 8 <= buf.length) {
    const id = buf.toString('latin1', pos, pos + 4);
    const declared = buf.readUInt32LE(pos + 4);
    const body = pos + 8;
    // Streamed writers leave the data size at 0 or 0xFFFFFFFF, and truncated files are common:
    // take what is there rather than refuse.
    const size = Math.min(declared, buf.length - body);
    if (id === 'fmt ') {
      if (size < 16) throw bad(`fmt chunk is ${size} bytes, need at least 16`);
      let formatTag = buf.readUInt16LE(body);
      const extensible = formatTag === WAVE_FORMAT.EXTENSIBLE;
      if (extensible) {
        if (size < 40) throw bad(`WAVE_FORMAT_EXTENSIBLE fmt chunk is ${size} bytes, need 40`);
        formatTag = buf.readUInt16LE(body + 24);
      }
      fmt = {
        formatTag,
        extensible,
        channels: buf.readUInt16LE(body + 2),
        sampleRateHz: buf.readUInt32LE(body + 4),
        blockAlign: buf.readUInt16LE(body + 12),
        bitsPerSample: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      data = buf.subarray(body, body + size);
      if (fmt) break;
    }
    pos = body + size + (size % 2);
  }
  if (!fmt) throw bad('no fmt chunk');
  if (!data) throw bad('no data chunk');
  if (fmt.channels < 1) throw bad('fmt chunk declares 0 channels');
  if (fmt.sampleRateHz < 1) throw bad('fmt chunk declares a 0 Hz sample rate');
  const frame = fmt.blockAlign || Math.ceil(fmt.bitsPerSample / 8) * fmt.channels;
  if (frame > 0) data = data.subarray(0, data.length - (data.length % frame));
  return { ...fmt, data };
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
