import { isSisAudioFormat, propertySampleRate, SIS_AUDIO_FORMAT_INFO, type SisAudioFormat } from './audioFormats.js';

/** `"yes"` / `"no"`: RASR booleans are strings. */
export type SisYesNo = 'yes' | 'no';

/**
 * `config` of the START command (spec §3.1). Wire names, exactly. Booleans are the strings
 * `"yes"`/`"no"`, numbers are JSON integers.
 */
export interface SisStartConfig {
  /** Must match the audio actually sent. */
  audio_format: SisAudioFormat;
  /** `language_sampleRate_domain`, e.g. `chinese_16k_general`; its rate must match `audio_format` (else SIS.0301). */
  property: string;
  /** Punctuation. @defaultValue "no" */
  add_punc?: SisYesNo;
  /** Spoken numbers as digits. @defaultValue "yes" */
  digit_norm?: SisYesNo;
  /** Leading silence that ends a sentence-stream session, in ms, 0–60000. @defaultValue 10000 */
  vad_head?: number;
  /** Trailing silence that ends a sentence, in ms, 0–3000. @defaultValue 500 */
  vad_tail?: number;
  /** Longest sentence, in seconds, 1–60. @defaultValue 30 */
  max_seconds?: number;
  /** Send RESULTs with `is_final: false` too. @defaultValue "no" */
  interim_results?: SisYesNo;
  /** Hot-word table id; omit when unused (a non-existent id is an error). */
  vocabulary_id?: string;
  /** Add `word_info` to results. @defaultValue "no" */
  need_word_info?: SisYesNo;
  /** SDK-only, meaning undocumented; the Python SDK always sends 0. */
  vad_threshold?: number;
  /** SDK-only, meaning undocumented; sent only when non-empty. */
  user_words?: unknown[];
  /** SDK-only (newest English demo). */
  need_smooth?: SisYesNo;
}

/** `{"command":"START","config":{…}}`, sent as a text frame right after the 101. */
export interface SisStartCommand {
  command: 'START';
  config: SisStartConfig;
}

/**
 * `{"command":"END","cancel":false}`. Send a boolean; the Python SDK sends the string `"false"`,
 * and servers accept both.
 */
export interface SisEndCommand {
  command: 'END';
  cancel?: boolean | 'true' | 'false';
}

/** Every command a RASR client sends as a text frame. */
export type SisClientCommand = SisStartCommand | SisEndCommand;

/** A client command as a server understands it: `cancel` normalised to a boolean. */
export type ParsedSisClientCommand =
  | { command: 'START'; config: SisStartConfig }
  | { command: 'END'; cancel: boolean };

/** Outcome of {@link parseClientCommand}: the command, or the SIS ERROR to answer with. */
export type ParseClientCommandResult =
  | { ok: true; value: ParsedSisClientCommand }
  | { ok: false; code: 'SIS.0012' | 'SIS.0031' | 'SIS.0032' | 'SIS.0301'; message: string };

const YES_NO_KEYS = ['add_punc', 'digit_norm', 'interim_results', 'need_word_info', 'need_smooth'] as const;
const INT_RANGES: Record<'vad_head' | 'vad_tail' | 'max_seconds', [number, number]> = {
  vad_head: [0, 60000],
  vad_tail: [0, 3000],
  max_seconds: [1, 60],
};
const KNOWN_KEYS = new Set<string>([
  'audio_format', 'property', ...YES_NO_KEYS, ...Object.keys(INT_RANGES), 'vocabulary_id', 'vad_threshold', 'user_words',
]);

type Failure = Extract<ParseClientCommandResult, { ok: false }>;
const fail = (code: Failure['code'], message: string): Failure => ({ ok: false, code, message });

/**
 * Server-side parsing of one client text frame, with the checks of spec §9.3: unknown config
 * key → SIS.0031, bad or out-of-range value → SIS.0032, missing required field → SIS.0012,
 * `property` sample rate different from `audio_format`'s → SIS.0301.
 */
export function parseClientCommand(text: string): ParseClientCommandResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail('SIS.0032', 'request JSON invalid');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('SIS.0032', 'request JSON invalid');
  const msg = json as Record<string, unknown>;
  if (msg.command === 'END') {
    const c = msg.cancel;
    if (c === undefined || c === false || c === 'false') return { ok: true, value: { command: 'END', cancel: false } };
    if (c === true || c === 'true') return { ok: true, value: { command: 'END', cancel: true } };
    return fail('SIS.0032', "'cancel' is invalid");
  }
  if (msg.command !== 'START') return fail('SIS.0032', "'command' is invalid");
  const config = msg.config;
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return fail('SIS.0012', "'config' is required");
  const cfg = config as Record<string, unknown>;
  for (const key of Object.keys(cfg)) {
    if (!KNOWN_KEYS.has(key)) return fail('SIS.0031', `'${key}' is not supported`);
  }
  if (cfg.audio_format === undefined) return fail('SIS.0012', "'audio_format' is required");
  if (!isSisAudioFormat(cfg.audio_format)) return fail('SIS.0032', "'audio_format' is invalid");
  if (cfg.property === undefined) return fail('SIS.0012', "'property' is required");
  if (typeof cfg.property !== 'string') return fail('SIS.0032', "'property' is invalid");
  const rate = propertySampleRate(cfg.property);
  if (rate === undefined) return fail('SIS.0032', "'property' is invalid");
  if (rate !== SIS_AUDIO_FORMAT_INFO[cfg.audio_format].sampleRate) return fail('SIS.0301', "'audio_format' is not match model");
  for (const key of YES_NO_KEYS) {
    const v = cfg[key];
    if (v !== undefined && v !== 'yes' && v !== 'no') return fail('SIS.0032', `'${key}' is invalid`);
  }
  for (const [key, [min, max]] of Object.entries(INT_RANGES)) {
    const v = cfg[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)) {
      return fail('SIS.0032', `'${key}' is invalid`);
    }
  }
  if (cfg.vocabulary_id !== undefined && typeof cfg.vocabulary_id !== 'string') return fail('SIS.0032', "'vocabulary_id' is invalid");
  if (cfg.vad_threshold !== undefined && (typeof cfg.vad_threshold !== 'number' || !Number.isInteger(cfg.vad_threshold))) {
    return fail('SIS.0032', "'vad_threshold' is invalid");
  }
  if (cfg.user_words !== undefined && !Array.isArray(cfg.user_words)) return fail('SIS.0032', "'user_words' is invalid");
  return { ok: true, value: { command: 'START', config: cfg as unknown as SisStartConfig } };
}
