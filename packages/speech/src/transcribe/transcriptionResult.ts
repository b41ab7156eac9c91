import type { SisAudioFormat, SisSegment } from '../sis/index.js';

/** Which recogniser produced a transcript: Huawei SIS over WebSocket, or local PocketSphinx. */
export type TranscribeEngine = 'sis' | 'local';

/** Outcome of `transcribe`. */
export interface TranscriptionResult {
  /**
   * SIS `trace_id` of the first session (what a GetResult record stores as `requestId`); a
   * generated UUID for the local engine.
   */
  traceId: string;
  /** Every session's `trace_id`, in order (several for long audio or after a resumed drop). */
  traceIds: string[];
  engine: TranscribeEngine;
  /** `audio_format` the audio was sent in (after WAV parsing or sox conversion). */
  audioFormat: SisAudioFormat;
  /** Length of the audio, in ms. */
  audioDurationMs: number;
  /** Final segments' texts in time order, joined with single spaces. */
  text: string;
  /** Final segments with SIS field names; times are ms from the start of the whole audio. */
  segments: SisSegment[];
}
