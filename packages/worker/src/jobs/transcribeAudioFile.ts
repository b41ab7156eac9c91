import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { makeGetResult, ObsqError, sourceVersionOf, TRANSCRIPT_SOURCE_METADATA, urlFailure, type GetResult, type SisConfig } from '@obsq/shared';
import { type SisSegment } from '@obsq/speech';
import { openPinnedFile, validatorDrift, type PinnedFile } from '../sources/index.js';
import { checkAudioFile, sisErrorFields, toJson, toSrt, toTxt, toVtt, transcribe, type TranscriptionResult } from '@obsq/speech';
import type { JobContext } from './jobContext.js';

/** One transcript file written to object storage. */
export interface TranscriptOutput {
  format: 'json' | 'srt' | 'vtt' | 'txt';
  bucket: string;
  key: string;
  etag: string;
}

/** Record body of a transcription (SIS field names, as the issue specifies). */
export interface TranscriptRecordBody {
  trace_id: string;
  engine: 'sis' | 'local';
  audio_duration_ms: number;
  text: string;
  segments: SisSegment[];
  outputs: TranscriptOutput[];
}

const CONTENT_TYPES = { json: 'application/json', srt: 'application/x-subrip', vtt: 'text/vtt', txt: 'text/plain; charset=utf-8' } as const;
const RENDER = { json: toJson, srt: (r: TranscriptionResult) => toSrt(r.segments), vtt: (r: TranscriptionResult) => toVtt(r.segments), txt: (r: TranscriptionResult) => toTxt(r.segments) } as const;

/** HTTP-like status for a SIS failure, so records stay `status >= 300` on failure. */
function sisStatus(code: string, httpStatus: unknown): number {
  if (typeof httpStatus === 'number' && httpStatus >= 300) return httpStatus;
  if (code.startsWith('APIGW.')) return 401;
  return 400;
}

/** Fetches the audio to a private temp file (audio can be hours long: never held in memory). */
async function fetchAudio(ctx: JobContext<'transcribe-audio-file'>, dir: string): Promise<{ path: string; name: string; file?: PinnedFile }> {
  const { data, signal } = ctx;
  const audio = data.audio;
  if (audio.kind === 'file') {
    // Read through the verified descriptor (its /proc name), never by path again.
    const file = await openPinnedFile(ctx.sourceRoots, audio, { hardlinks: ctx.settings.sourceHardlinks, signal });
    return { path: file.procPath, name: basename(audio.path), file };
  }
  const target = join(dir, 'audio');
  const max = ctx.settings.audioMaxBytes;
  if (audio.kind === 'object') {
    // If-Match takes a quoted entity-tag (RFC 9110); payloads keep ETags bare.
    const ifMatch = audio.etag === undefined ? undefined : `"${audio.etag.replace(/"/g, '')}"`;
    const res = await ctx.storage.getObject({ bucket: audio.bucket, key: audio.key, versionId: audio.versionId, ifMatch, signal });
    const length = Number(res.body!.contentLength);
    if (length > max) {
      res.body!.response.destroy();
      throw tooLarge('audio', `object is ${length} bytes`, max);
    }
    await pipeline(res.body!.response, capBytes(max, 'audio'), createWriteStream(target), { signal });
    ctx.metrics.bytes('transcribe-audio-file', 'downloaded', length);
    return { path: target, name: basename(audio.key) };
  }
  const urls = ctx.settings.urls;
  const res = await urls.request(audio.url, { signal, field: 'audio.url' });
  if (res.statusCode !== 200) {
    await res.body.dump().catch(() => undefined);
    throw new ObsqError('OBSQ_SOURCE', `audio.url: GET answered HTTP ${res.statusCode}`, { permanent: res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 408 && res.statusCode !== 429 });
  }
  const declared = Number(res.headers['content-length'] ?? Number.NaN);
  if (declared > max) {
    res.body.destroy();
    throw tooLarge('audio.url', `Content-Length is ${declared} bytes`, max);
  }
  const drift = audio.etag !== undefined || audio.lastModified !== undefined ? validatorDrift(audio, res.headers) : undefined;
  if (drift) {
    res.body.destroy();
    throw new ObsqError('OBSQ_SOURCE_CHANGED', `audio.url: the audio changed since enqueue (${drift})`, { permanent: true });
  }
  try {
    await pipeline(res.body, capBytes(max, 'audio.url'), createWriteStream(target), { signal });
  } catch (err) {
    throw urlFailure(err, 'audio.url', new URL(res.url).host, urls.policy.timeoutMs, signal);
  }
  return { path: target, name: basename(new URL(audio.url).pathname) || 'audio' };
}

function tooLarge(field: string, what: string, max: number): ObsqError {
  return new ObsqError('OBSQ_SOURCE_TOO_LARGE', `${field}: ${what}, more than OBSQ_AUDIO_MAX_BYTES (${max} bytes)`, { permanent: true });
}

/** Passes bytes through until more than `max` went by, then fails (a server may lie about length). */
function capBytes(max: number, field: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > max) done(tooLarge(field, `download passed ${max} bytes`, max));
      else done(null, chunk);
    },
  });
}

function sisClientOptions(sis: SisConfig) {
  if (!sis.projectId || !sis.auth) {
    throw new ObsqError('OBSQ_CONFIG_INVALID', 'engine "sis" needs OBSQ_SIS_PROJECT_ID and OBSQ_SIS_AK/OBSQ_SIS_SK (or OBSQ_SIS_TOKEN) on this worker', {
      permanent: true,
    });
  }
  return {
    endpoint: sis.endpoint,
    region: sis.region,
    projectId: sis.projectId,
    ...(sis.auth.kind === 'aksk' ? { ak: sis.auth.ak, sk: sis.auth.sk } : { token: sis.auth.token }),
    connectTimeoutMs: sis.connectTimeoutMs,
    readTimeoutMs: sis.readTimeoutMs,
    frameBytes: sis.frameBytes,
    pace: sis.pace,
  };
}

/**
 * Transcribes one audio file through SIS (continue-stream by default) or the local PocketSphinx
 * engine, writes the requested transcript formats next to each other under `output.prefix`, and
 * returns a record whose `requestId` is the SIS `trace_id`.
 */
export async function transcribeAudioFile(ctx: JobContext<'transcribe-audio-file'>): Promise<GetResult<TranscriptRecordBody>> {
  const { data, signal } = ctx;
  const dir = await mkdtemp(join(tmpdir(), 'obsq-audio-'));
  const started = performance.now();
  let result: TranscriptionResult;
  let pinned: PinnedFile | undefined;
  try {
    const audio = await fetchAudio(ctx, dir);
    pinned = audio.file;
    // Garbage (empty, not audio, truncated, absurd headers) fails here with one clear code, before
    // a recogniser turns it into an empty transcript.
    await checkAudioFile(audio.path, { rawFormat: data.request.audioFormat, name: audio.name });
    const sisOpen = data.engine === 'sis';
    if (sisOpen) ctx.metrics.sisSessionOpened();
    try {
      result = await transcribe({
        audio: audio.path,
        request: data.request,
        mode: data.mode,
        engine: data.engine,
        ...(data.engine === 'sis' ? { sis: { ...sisClientOptions(ctx.settings.sis), logger: ctx.logger } } : {}),
        ...(data.engine === 'local' && ctx.settings.localEngine ? { local: { pool: ctx.settings.localEngine } } : {}),
        signal,
        logger: ctx.logger,
        onProgress: (fraction, audioMsDone) => void ctx.job.updateProgress({ fraction, audioMsDone }).catch(() => undefined),
      });
    } catch (err) {
      const sis = sisErrorFields(err);
      if (!sis) throw err;
      const details = (err as ObsqError).details ?? {};
      throw Object.assign(err as ObsqError, {
        result: makeGetResult({
          status: sisStatus(sis.error_code, details.http_status),
          errorCode: sis.error_code,
          errorMessage: sis.error_msg,
          requestId: typeof details.trace_id === 'string' ? details.trace_id : '',
          resource: audio.name,
        }),
      });
    } finally {
      if (sisOpen) ctx.metrics.sisSessionClosed();
    }
    // The transcript must be of the enqueued version: a file edited while it was recognised fails.
    await pinned?.verify('after recognition');
    const seconds = result.audioDurationMs / 1000;
    const elapsed = (performance.now() - started) / 1000;
    ctx.metrics.audioTranscribed('transcribe-audio-file', data.engine === 'sis' ? 'sis' : 'pocketsphinx', seconds, seconds > 0 ? elapsed / seconds : 0);

    const outputs: TranscriptOutput[] = [];
    if (data.output) {
      const stem = audio.name.slice(0, audio.name.length - extname(audio.name).length) || 'audio';
      const prefix = data.output.prefix;
      for (const format of data.output.formats) {
        const key = `${prefix}${stem}.${format}`;
        const put = await ctx.storage.putObject({
          bucket: data.output.bucket,
          key,
          body: Buffer.from(RENDER[format](result), 'utf8'),
          contentType: CONTENT_TYPES[format],
          // Which version of the audio this is the transcript of: a batch re-run skips the audio
          // when it is unchanged (`--skip-existing`).
          metadata: { [TRANSCRIPT_SOURCE_METADATA]: sourceVersionOf(data.audio) },
          signal,
        });
        outputs.push({ format, bucket: data.output.bucket, key, etag: put.body?.etag ?? '' });
      }
    }
    ctx.logger.info({ engine: data.engine, audioMs: result.audioDurationMs, segments: result.segments.length }, 'audio transcribed');
    return makeGetResult({
      status: 200,
      reason: 'OK',
      requestId: result.traceId || randomUUID(),
      body: {
        trace_id: result.traceId,
        engine: data.engine,
        audio_duration_ms: result.audioDurationMs,
        text: result.text,
        segments: result.segments,
        outputs,
      },
    });
  } finally {
    await pinned?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
