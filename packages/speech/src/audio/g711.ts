import { SIS_AUDIO_FORMAT_INFO, type SisAudioFormat } from '../sis/index.js';
import { audioFormatFor } from './audioFormat.js';

function buildTable(decode: (byte: number) => number): Int16Array {
  const table = new Int16Array(256);
  for (let i = 0; i < 256; i++) table[i] = decode(i);
  return table;
}

// ITU-T G.711 expansion, as in the reference implementation (g711.c).
const ULAW = buildTable((byte) => {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << exponent) - 0x84;
  return u & 0x80 ? -magnitude : magnitude;
});

const ALAW = buildTable((byte) => {
  const a = byte ^ 0x55;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  const magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return a & 0x80 ? magnitude : -magnitude;
});

/**
 * Converts audio of any SIS `format` to signed 16-bit little-endian PCM at the same sample rate.
 * PCM input is returned as is (no copy). Returns the PCM and its format name.
 */
export function toPcm16(audio: Buffer, format: SisAudioFormat): { pcm: Buffer; format: SisAudioFormat } {
  const spec = SIS_AUDIO_FORMAT_INFO[format];
  if (spec.encoding === 'pcm_s16le') return { pcm: audio, format };
  const table = spec.encoding === 'alaw' ? ALAW : ULAW;
  const pcm = Buffer.allocUnsafe(audio.length * 2);
  for (let i = 0; i < audio.length; i++) pcm.writeInt16LE(table[audio[i]!]!, i * 2);
  return { pcm, format: audioFormatFor('pcm_s16le', spec.sampleRate)! };
}

/**
 * Streaming form of {@link toPcm16}: decodes each chunk of `format` audio as it arrives (G.711
 * samples are one byte each, so chunk boundaries never split one). PCM chunks pass through.
 */
export async function* toPcm16Chunks(chunks: AsyncIterable<Buffer>, format: SisAudioFormat): AsyncGenerator<Buffer, void, undefined> {
  for await (const chunk of chunks) yield toPcm16(chunk, format).pcm;
}
