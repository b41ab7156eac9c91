import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ObsqError, ValidationError, coerceError } from '@obsq/shared';
import { assertEngineAvailable, type PocketsphinxOptions } from './pocketsphinxEngine.js';
import type { SpeechSegment } from './pocketsphinxOutput.js';
import type { EnginePool } from './enginePool.js';
import { startRecognizer } from './recognizer.js';

/** Raw PCM delivered in chunks, with its length known up front (it sets the default timeout). */
export interface PcmStream {
  /** Total bytes the chunks add up to. */
  byteLength: number;
  /**
   * The PCM in order. Chunks may split a sample; the engine's input is a byte stream. Iterated
   * once, with back-pressure: the next chunk is asked for only when the engine has room.
   */
  chunks: AsyncIterable<Buffer>;
}

/** Options of {@link transcribePcm}. */
export interface TranscribePcmOptions extends PocketsphinxOptions {
  /**
   * Raw 16-bit LE mono PCM: in memory, the path of a file holding it (no WAV header), or a
   * {@link PcmStream}. A path or a stream is fed to the engine chunk by chunk, so memory use does
   * not grow with the audio's length.
   */
  pcm: Buffer | string | PcmStream;
  /** Sample rate of `pcm`, in Hz. 8 kHz is upsampled to 16 kHz before decoding. */
  sampleRate: 8000 | 16000;
  /** Add `word_info` to each segment. @defaultValue false */
  needWordInfo?: boolean;
  /** Aborting kills the engine and rejects with `OBSQ_ABORTED`. */
  signal?: AbortSignal;
  /**
   * Decode on a warm engine from this pool (model already loaded) instead of starting a
   * `pocketsphinx_continuous` process for this call. Same results either way.
   */
  pool?: EnginePool;
  /**
   * Upper bound for the whole decode, in ms. PocketSphinx runs at about 0.2× real time here.
   * @defaultValue 30000 + 3 × the audio duration
   */
  timeoutMs?: number;
}

/**
 * Transcribes raw PCM with the local PocketSphinx engine into SIS-shaped final segments, one
 * per utterance, times in ms from the start of the audio.
 * @throws ObsqError `OBSQ_ENGINE` (engine missing or crashed), `OBSQ_TIMEOUT`, `OBSQ_ABORTED`,
 *   `OBSQ_AUDIO` (unreadable file); ValidationError for a bad sample rate or odd byte count.
 */
export async function transcribePcm(opts: TranscribePcmOptions): Promise<SpeechSegment[]> {
  if (opts.sampleRate !== 8000 && opts.sampleRate !== 16000) {
    throw new ValidationError([{ field: 'sampleRate', rule: 'must be 8000 or 16000' }]);
  }
  const throwIfAborted = () => {
    if (opts.signal?.aborted) throw new ObsqError('OBSQ_ABORTED', 'transcription aborted', { cause: opts.signal.reason });
  };
  throwIfAborted();
  await assertEngineAvailable(opts);

  let bytes: number;
  if (typeof opts.pcm === 'string') {
    try {
      bytes = (await stat(opts.pcm)).size;
    } catch (err) {
      throw new ObsqError('OBSQ_AUDIO', `cannot read PCM file ${opts.pcm}`, { cause: err, permanent: true });
    }
  } else if (Buffer.isBuffer(opts.pcm)) {
    bytes = opts.pcm.length;
  } else {
    bytes = opts.pcm.byteLength;
  }
  const audioMs = (bytes / 2 / opts.sampleRate) * 1000;
  const timeoutMs = opts.timeoutMs ?? 30_000 + 3 * audioMs;

  throwIfAborted();
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const rec = opts.pool
    ? await opts.pool.acquire({
        sampleRate: opts.sampleRate,
        ...(opts.needWordInfo === undefined ? {} : { needWordInfo: opts.needWordInfo }),
        signal: controller.signal,
        endTimeoutMs: timeoutMs,
      })
    : startRecognizer({ ...opts, signal: controller.signal, endTimeoutMs: timeoutMs });
  const timer = setTimeout(() => {
    rec.abort(new ObsqError('OBSQ_TIMEOUT', `transcription did not finish within ${Math.round(timeoutMs)} ms`));
    // Stops reading the input too; the recognizer keeps the timeout as its failure.
    controller.abort();
  }, timeoutMs);
  try {
    if (typeof opts.pcm === 'string') {
      try {
        for await (const chunk of createReadStream(opts.pcm, { signal: controller.signal })) {
          if (!rec.write(chunk as Buffer)) await rec.drained();
        }
      } catch (err) {
        rec.abort(new ObsqError('OBSQ_AUDIO', `cannot read PCM file ${opts.pcm}`, { cause: err, permanent: true }));
      }
    } else if (Buffer.isBuffer(opts.pcm)) {
      rec.write(opts.pcm);
    } else {
      // A crashed engine ignores writes: stop reading then rather than run through the file.
      let engineGone = false;
      void rec.exited.then(() => (engineGone = true));
      try {
        for await (const chunk of opts.pcm.chunks) {
          if (controller.signal.aborted || engineGone) break;
          if (!rec.write(chunk)) await rec.drained();
        }
      } catch (err) {
        const e = coerceError(err);
        rec.abort(e instanceof ObsqError ? e : new ObsqError('OBSQ_AUDIO', `cannot read PCM: ${e.message}`, { cause: e, permanent: true }));
      }
    }
    return await rec.end();
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}
