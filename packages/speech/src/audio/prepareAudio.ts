import type { SisAudioFormat } from '../sis/index.js';
import { openAudio, type OpenAudioOptions } from './openAudio.js';

/** Options of {@link prepareAudio}: those of {@link openAudio}. */
export type PrepareAudioOptions = OpenAudioOptions;

/** Audio ready to stream to SIS: headerless samples in one of the six SIS formats. */
export interface PreparedAudio {
  /** The `audio_format` to send in START. */
  format: SisAudioFormat;
  /** Headerless sample data, trimmed to whole samples. */
  audio: Buffer;
  /** Playing time in ms. */
  durationMs: number;
  /** `raw`: headerless input; `wav`: WAV passed through; `sox`: WAV converted by sox. */
  source: 'raw' | 'wav' | 'sox';
  /** Layout of the WAV input, e.g. `44100 Hz, 2 channels, 16-bit PCM`; absent for raw input. */
  inputDescription?: string;
}

/**
 * In-memory form of {@link openAudio}: the same checks, conversions and refusals, with all the
 * samples read into one Buffer (a view of a Buffer input, no copy). Memory grows with the
 * audio's length: for long files use {@link openAudio} and read `data` as a stream.
 */
export async function prepareAudio(input: Buffer | string, options: PrepareAudioOptions = {}): Promise<PreparedAudio> {
  const source = await openAudio(input, options);
  try {
    let audio: Buffer | undefined;
    let filled = 0;
    for await (const chunk of source.data.chunks(options.signal ? { signal: options.signal } : {})) {
      // A Buffer input comes back as one chunk, used as is; a file is copied into one allocation.
      if (audio === undefined && chunk.length === source.data.byteLength) {
        audio = chunk;
        filled = chunk.length;
        continue;
      }
      audio ??= Buffer.allocUnsafe(source.data.byteLength);
      filled += chunk.copy(audio, filled);
    }
    return {
      format: source.format,
      audio: audio?.subarray(0, filled) ?? Buffer.alloc(0),
      durationMs: source.durationMs,
      source: source.source,
      ...(source.inputDescription === undefined ? {} : { inputDescription: source.inputDescription }),
    };
  } finally {
    await source.close();
  }
}
