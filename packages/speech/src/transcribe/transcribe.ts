import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import {
  backPressureOf,
  ConfigError,
  ObsqError,
  coerceError,
  isPermanent,
  normalizeRasrRequest,
  toRasrStartCommand,
  type RasrMode,
  type RasrRequestInput,
} from '@obsq/shared';
import {
  audioByteOffset,
  audioDurationMs,
  openAudio,
  toPcm16Chunks,
  type AudioRange,
  type AudioSource,
} from '../audio/index.js';
import {
  isSisAudioFormat,
  SIS_AUDIO_FORMAT_INFO,
  type SisAudioFormat,
  type SisSegment,
  type SisStartConfig,
} from '../sis/index.js';
import { transcribePcm, type EnginePool, type PocketsphinxOptions } from '../local/index.js';
import { joinText } from './joinText.js';
import { SisRasrClient, type SisRasrClientOptions } from './sisRasrClient.js';
import type { TranscribeEngine, TranscriptionResult } from './transcriptionResult.js';

/** Retry policy for dropped or failed SIS sessions. */
export interface TranscribeRetryOptions {
  /**
   * Retries in a row without progress (no new final segment) before giving up.
   * @defaultValue 3
   */
  attempts?: number;
  /** First backoff delay, in ms; doubles per retry, with jitter. @defaultValue 500 */
  baseDelayMs?: number;
  /** Longest backoff delay, in ms. @defaultValue 5000 */
  maxDelayMs?: number;
}

/** Options of {@link transcribe}. */
export interface TranscribeOptions {
  /**
   * WAV or headerless audio: the bytes, or a file path. A file is read as it is sent (only its
   * header up front), never loaded whole.
   */
  audio: Buffer | string;
  /**
   * Format of headerless audio. WAV input ignores it (the header decides).
   * @defaultValue `request.audioFormat`
   */
  format?: SisAudioFormat;
  /**
   * The RASR request (camelCase, see `normalizeRasrRequest`). `audioFormat` may be omitted for
   * WAV input; the format found in the file is used either way.
   */
  request: Omit<RasrRequestInput, 'audioFormat'> & { audioFormat?: string };
  /** @defaultValue 'continue-stream' */
  mode?: RasrMode;
  /** `sis`: Huawei SIS (needs `sis`); `local`: PocketSphinx through `transcribePcm`. */
  engine: TranscribeEngine;
  /** SIS client options (endpoint, credentials, timeouts, pace); required for `engine: 'sis'`. */
  sis?: SisRasrClientOptions;
  /**
   * Local engine options (binary, model paths, and a warm engine pool to decode on). With a
   * pool, a job whose engine crashes mid-way is decoded once more on a fresh engine.
   */
  local?: PocketsphinxOptions & { pool?: EnginePool };
  /** Cancels the whole transcription, including backoff waits. */
  signal?: AbortSignal;
  /**
   * Progress: fraction 0..1 of the audio sent (SIS) or decoded (local), and the ms it covers.
   * Never decreases, even when a resumed session re-sends audio. A throwing listener is ignored.
   */
  onProgress?(fraction: number, audioMsDone: number): void;
  /** Retry policy for SIS sessions. */
  retry?: TranscribeRetryOptions;
  /**
   * Longest audio sent in one SIS session, in ms; longer audio is split into several sessions
   * whose segment times are offset to the whole file.
   * @defaultValue 60000 for short-stream, 5 h (18000000) otherwise
   */
  maxSessionMs?: number;
  /** @defaultValue a silent logger */
  logger?: Logger;
}

const SESSION_CAP_MS: Record<RasrMode, number> = {
  'short-stream': 60_000,
  'sentence-stream': 5 * 3_600_000,
  'continue-stream': 5 * 3_600_000,
};

/** Moves a session-relative segment (and its word timings) to whole-file time. */
function shiftSegment(seg: SisSegment, offsetMs: number): SisSegment {
  if (offsetMs === 0) return seg;
  const result = seg.result && {
    ...seg.result,
    ...(seg.result.word_info && {
      word_info: seg.result.word_info.map((w) => ({
        ...w,
        ...(w.start_time !== undefined && { start_time: w.start_time + offsetMs }),
        ...(w.end_time !== undefined && { end_time: w.end_time + offsetMs }),
      })),
    }),
  };
  return { ...seg, start_time: seg.start_time + offsetMs, end_time: seg.end_time + offsetMs, ...(result && { result }) };
}

/** A warm engine that exited on its own (not killed for an abort or a timeout). */
function isEngineCrash(err: unknown): boolean {
  return err instanceof ObsqError && err.code === 'OBSQ_ENGINE' && !err.permanent && err.details?.engineCrashed === true;
}

function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new ObsqError('OBSQ_ABORTED', 'transcription aborted', { cause: signal.reason }));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ObsqError('OBSQ_ABORTED', 'transcription aborted', { cause: signal!.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Transcribes a file with SIS real-time ASR or the local engine.
 *
 * The audio is opened first (WAV header parsed or the file converted by sox, `property` checked
 * against the format), so bad input fails permanently before any connection. A file is never
 * loaded whole: each SIS session and the local engine stream it from disk in small reads, so
 * memory stays bounded whatever the audio's length (a Buffer `audio` is used in place).
 *
 * With SIS, audio longer than the mode's session cap is split into consecutive sessions. A
 * session that fails with a retryable error (dropped socket, timeout, retryable SIS code) is
 * resumed after a jittered backoff from the end of its last final segment: audio from that byte
 * offset is re-read and re-sent and the new session's times are offset by it, so the transcript
 * has neither gaps nor duplicates.
 */
export async function transcribe(options: TranscribeOptions): Promise<TranscriptionResult> {
  const log = options.logger ?? pino({ level: 'silent' });
  const mode = options.mode ?? 'continue-stream';
  const requestFormat = options.format ?? options.request.audioFormat;
  // A file is opened, not loaded: sessions and the local engine read it as they go.
  const audio = await openAudio(options.audio, {
    ...(isSisAudioFormat(requestFormat) ? { format: requestFormat } : {}),
    property: options.request.property,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    return await transcribeOpened(audio, options, requestFormat, mode, log);
  } finally {
    await audio.close();
  }
}

async function transcribeOpened(
  audio: AudioSource,
  options: TranscribeOptions,
  requestFormat: string | undefined,
  mode: RasrMode,
  log: Logger,
): Promise<TranscriptionResult> {
  if (requestFormat !== undefined && requestFormat !== audio.format && audio.source !== 'raw') {
    log.info({ requested: requestFormat, actual: audio.format, input: audio.inputDescription }, 'audio format taken from the WAV file');
  }
  const request = normalizeRasrRequest({ ...options.request, audioFormat: audio.format });

  let progressMs = 0;
  let reportedDone = false;
  const progress = (ms: number) => {
    const next = Math.min(audio.durationMs, Math.max(progressMs, ms));
    if (next === progressMs && (next < audio.durationMs || reportedDone)) return;
    progressMs = next;
    reportedDone = next >= audio.durationMs;
    try {
      options.onProgress?.(audio.durationMs === 0 ? 1 : progressMs / audio.durationMs, progressMs);
    } catch (err) {
      log.warn({ err: coerceError(err) }, 'onProgress listener threw');
    }
  };

  let segments: SisSegment[];
  let traceIds: string[];
  if (options.engine === 'local') {
    const info = SIS_AUDIO_FORMAT_INFO[audio.format];
    const chunksOptions = options.signal ? { signal: options.signal } : {};
    // Progress by audio fed to the engine: a long local transcription reports as it goes.
    let fed = 0;
    const total = audio.data.byteLength;
    async function* counted(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      for await (const chunk of chunks) {
        yield chunk;
        fed += chunk.length;
        progress(total === 0 ? audio.durationMs : Math.floor((fed / total) * audio.durationMs));
      }
    }
    const decode = () =>
      transcribePcm({
        ...options.local,
        // G.711 is decoded chunk by chunk on its way to the engine (2 bytes of PCM per sample).
        pcm: {
          byteLength: (audio.data.byteLength / info.bytesPerSample) * 2,
          chunks: toPcm16Chunks(counted(audio.data.chunks(chunksOptions)), audio.format),
        },
        sampleRate: info.sampleRate,
        needWordInfo: request.needWordInfo === 'yes',
        ...(options.signal ? { signal: options.signal } : {}),
      });
    try {
      segments = await decode();
    } catch (err) {
      // A warm engine that died mid-job has been replaced; the file is read again from the start.
      if (!options.local?.pool || !isEngineCrash(err)) throw err;
      log.warn({ err: coerceError(err) }, 'local engine crashed mid-job; decoding again on a fresh engine');
      fed = 0;
      segments = await decode();
    }
    traceIds = [randomUUID()];
  } else if (options.engine === 'sis') {
    if (!options.sis) throw new ConfigError("sis options are required for engine 'sis'");
    const client = new SisRasrClient({ ...options.sis, logger: options.sis.logger ?? log });
    const config = toRasrStartCommand(request, mode).config as SisStartConfig;
    ({ segments, traceIds } = await runSessions(client, audio.data, config, mode, options, progress, log));
  } else {
    throw new ConfigError(`engine must be 'sis' or 'local', got ${JSON.stringify(options.engine)}`);
  }
  progress(audio.durationMs);

  return {
    traceId: traceIds[0] ?? '',
    traceIds,
    engine: options.engine,
    audioFormat: audio.format,
    audioDurationMs: audio.durationMs,
    text: joinText(segments),
    segments,
  };
}

async function runSessions(
  client: SisRasrClient,
  audio: AudioRange,
  config: SisStartConfig,
  mode: RasrMode,
  options: TranscribeOptions,
  progress: (ms: number) => void,
  log: Logger,
): Promise<{ segments: SisSegment[]; traceIds: string[] }> {
  const format = config.audio_format;
  const attempts = options.retry?.attempts ?? 3;
  const baseDelayMs = options.retry?.baseDelayMs ?? 500;
  const maxDelayMs = options.retry?.maxDelayMs ?? 5000;
  const capMs = Math.min(options.maxSessionMs ?? SESSION_CAP_MS[mode], SESSION_CAP_MS[mode]);
  if (!(Number.isInteger(capMs) && capMs > 0)) throw new ConfigError('maxSessionMs must be a positive integer (ms)');
  const chunkBytes = audioByteOffset(capMs, format);
  const segments: SisSegment[] = [];
  const traceIds: string[] = [];

  // Invariant: `offsetMs` is a whole ms and `offsetBytes === audioByteOffset(offsetMs)`, so
  // byte positions and segment times stay in step across sessions.
  let offsetMs = 0;
  let offsetBytes = 0;
  while (offsetBytes < audio.byteLength) {
    const chunkEnd = Math.min(audio.byteLength, offsetBytes + chunkBytes);
    let failures = 0;
    for (;;) {
      const sessionStartMs = offsetMs;
      const sessionStartBytes = offsetBytes;
      let resumeMs: number | undefined;
      try {
        const result = await client.recognize(audio.slice(sessionStartBytes, chunkEnd), config, {
          mode,
          ...(options.signal ? { signal: options.signal } : {}),
          onStart: (traceId) => traceIds.push(traceId),
          onFinal: (seg) => {
            segments.push(shiftSegment(seg, sessionStartMs));
            resumeMs = sessionStartMs + seg.end_time;
          },
          onAudioSent: (bytes) => progress(audioDurationMs(sessionStartBytes + bytes, format)),
        });
        log.debug({ traceId: result.traceId, endReason: result.endReason, events: result.events }, 'sis session done');
        // Sentence mode recognises one sentence; SIS ignores the rest after VOICE_END.
        if (mode === 'sentence-stream') return { segments, traceIds };
        offsetBytes = chunkEnd;
        offsetMs = audioDurationMs(chunkEnd, format);
        break;
      } catch (err) {
        const e = coerceError(err);
        if (isPermanent(e) || (e instanceof ObsqError && e.code === 'OBSQ_ABORTED')) throw e;
        // "Too busy" before anything was recognised: hand it to the caller (the worker puts the
        // job back without spending an attempt) rather than hold a slot while waiting here.
        const busy = backPressureOf(e);
        if (busy && segments.length === 0 && resumeMs === undefined) throw e;
        if (resumeMs !== undefined && resumeMs > sessionStartMs) {
          offsetMs = Math.floor(resumeMs);
          offsetBytes = Math.min(chunkEnd, audioByteOffset(offsetMs, format));
          failures = 0;
        }
        if (offsetBytes >= chunkEnd) {
          // The finals received already cover this chunk: nothing left to resend.
          offsetBytes = chunkEnd;
          offsetMs = audioDurationMs(chunkEnd, format);
          break;
        }
        failures++;
        if (failures > attempts) {
          throw new ObsqError(e instanceof ObsqError ? e.code : 'OBSQ_SIS', `SIS transcription failed after ${attempts} retries: ${e.message}`, {
            cause: e,
            ...(e instanceof ObsqError && e.details ? { details: { ...e.details, retries: attempts } } : { details: { retries: attempts } }),
          });
        }
        const delay = Math.max(busy?.retryAfterMs ?? 0, Math.min(maxDelayMs, baseDelayMs * 2 ** (failures - 1)) * (0.5 + Math.random() / 2));
        log.warn({ err: e, failure: failures, of: attempts, resumeAtMs: offsetMs, delayMs: Math.round(delay) }, 'sis session failed, retrying');
        await abortableDelay(delay, options.signal);
      }
    }
  }
  return { segments, traceIds };
}
