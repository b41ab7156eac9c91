import type { RasrAudioFormat, RasrMode, RasrRequest } from './rasrRequest.js';

/**
 * The `config` object of the START command, with the wire's snake_case keys (protocol spec §3.1).
 * Assignable to the `sis` module's `SisStartConfig`.
 */
export interface RasrStartConfig {
  audio_format: RasrAudioFormat;
  property: string;
  add_punc: 'yes' | 'no';
  digit_norm: 'yes' | 'no';
  /** Milliseconds; absent in short-stream mode. */
  vad_head?: number;
  /** Milliseconds; absent in short-stream mode. */
  vad_tail?: number;
  /** Seconds; absent in short-stream mode. */
  max_seconds?: number;
  interim_results: 'yes' | 'no';
  vocabulary_id?: string;
  need_word_info: 'yes' | 'no';
}

/** The first text frame of a RASR session: `{"command":"START","config":{...}}`. */
export interface RasrStartCommand {
  command: 'START';
  config: RasrStartConfig;
}

/**
 * Maps a checked request (see `normalizeRasrRequest`) to the START command; send it with
 * `JSON.stringify`. In short-stream mode `vad_head`, `vad_tail` and `max_seconds` are left out: the
 * service documents them as having no effect there. `vocabulary_id` is sent only when set, because
 * SIS rejects an empty or unknown id.
 */
export function toRasrStartCommand(request: RasrRequest, mode: RasrMode): RasrStartCommand {
  const timing =
    mode === 'short-stream' ? {} : { vad_head: request.vadHead, vad_tail: request.vadTail, max_seconds: request.maxSeconds };
  return {
    command: 'START',
    config: {
      audio_format: request.audioFormat,
      property: request.property,
      add_punc: request.addPunc,
      digit_norm: request.digitNorm,
      ...timing,
      interim_results: request.interimResults,
      ...(request.vocabularyId === undefined ? {} : { vocabulary_id: request.vocabularyId }),
      need_word_info: request.needWordInfo,
    },
  };
}
