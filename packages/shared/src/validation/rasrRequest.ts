import { ValidationError, type ValidationIssue } from '../errors/index.js';
import { intRangeIssues } from './intRange.js';
import { joinFieldPath } from './fieldPath.js';

/** Raw audio formats SIS real-time recognition accepts (protocol spec §3.2). Headerless, mono. */
export const RASR_AUDIO_FORMATS = ['pcm16k16bit', 'pcm8k16bit', 'ulaw16k8bit', 'ulaw8k8bit', 'alaw16k8bit', 'alaw8k8bit'] as const;
/** One of {@link RASR_AUDIO_FORMATS}. */
export type RasrAudioFormat = (typeof RASR_AUDIO_FORMATS)[number];

/** The three RASR websocket modes (`/v1/{project_id}/rasr/{mode}`). */
export const RASR_MODES = ['continue-stream', 'sentence-stream', 'short-stream'] as const;
/** One of {@link RASR_MODES}. */
export type RasrMode = (typeof RASR_MODES)[number];

/** SIS spells booleans as the strings `yes` / `no`. */
export type YesNo = 'yes' | 'no';

/** Inclusive bounds of the numeric RASR fields (seed §8). */
export const RASR_LIMITS = {
  vadHead: { min: 0, max: 60_000, unit: 'ms' },
  vadTail: { min: 0, max: 3_000, unit: 'ms' },
  maxSeconds: { min: 1, max: 60, unit: 'seconds' },
} as const;

/** Defaults SIS applies to absent fields; we fill them in so the record shows what was asked. */
export const RASR_DEFAULTS = {
  addPunc: 'no',
  digitNorm: 'yes',
  vadHead: 10_000,
  vadTail: 500,
  maxSeconds: 30,
  interimResults: 'no',
  needWordInfo: 'no',
} as const satisfies Partial<RasrRequest>;

/** A RASR request as callers write it: yes/no fields also take booleans; optional fields have defaults. */
export interface RasrRequestInput {
  /** Format of the audio actually sent. */
  audioFormat: string;
  /** Model, `language_sampleRate_domain` (e.g. `chinese_16k_general`); its rate must match `audioFormat`. */
  property: string;
  /** Add punctuation. @defaultValue `'no'` */
  addPunc?: YesNo | boolean;
  /** Turn spoken numbers into digits. @defaultValue `'yes'` */
  digitNorm?: YesNo | boolean;
  /** Leading silence (ms) after which sentence mode gives up, 0–60000. @defaultValue 10000 */
  vadHead?: number;
  /** Trailing silence (ms) that ends a sentence, 0–3000. @defaultValue 500 */
  vadTail?: number;
  /** Longest sentence in seconds before it is cut, 1–60. @defaultValue 30 */
  maxSeconds?: number;
  /** Also send non-final results. @defaultValue `'no'` */
  interimResults?: YesNo | boolean;
  /** Hot-word table id; omit when there is none (an unknown id is an error at SIS). */
  vocabularyId?: string;
  /** Add per-word timings to results. @defaultValue `'no'` */
  needWordInfo?: YesNo | boolean;
}

/** A checked RASR request with every default filled in. */
export interface RasrRequest {
  audioFormat: RasrAudioFormat;
  property: string;
  addPunc: YesNo;
  digitNorm: YesNo;
  /** Milliseconds. */
  vadHead: number;
  /** Milliseconds. */
  vadTail: number;
  /** Seconds. */
  maxSeconds: number;
  interimResults: YesNo;
  vocabularyId?: string;
  needWordInfo: YesNo;
}

const YES_NO_FIELDS = ['addPunc', 'digitNorm', 'interimResults', 'needWordInfo'] as const;
const PROPERTY = /^[a-z]+_(\d+k)_[a-z0-9_]+$/;

/** Sample rate (`8k`/`16k`) of an audio format, e.g. `pcm16k16bit` → `16k`. */
export function audioFormatSampleRate(format: RasrAudioFormat): string {
  return format.includes('16k') ? '16k' : '8k';
}

/** Accepts `yes`/`no` and booleans; anything else is an issue. */
export function yesNoIssues(value: unknown, field: string): ValidationIssue[] {
  if (value === undefined || value === 'yes' || value === 'no' || typeof value === 'boolean') return [];
  return [{ field, rule: `must be "yes" or "no" (got ${JSON.stringify(value) ?? String(value)})` }];
}

function toYesNo(value: YesNo | boolean | undefined, fallback: YesNo): YesNo {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return value;
}

/**
 * Checks a RASR request against the seed's rules: known audio format, a `language_sampleRate_domain`
 * property whose rate matches the format, yes/no fields, and the vadHead/vadTail/maxSeconds ranges.
 * The property's language and domain are not checked against a list: SIS adds models over time.
 *
 * @param field - path of the request object; issues are `${field}.audioFormat` and so on
 * @defaultValue field `'request'`
 */
export function rasrRequestIssues(input: unknown, field = 'request'): ValidationIssue[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return [{ field, rule: 'must be an object with audioFormat and property' }];
  }
  const r = input as Record<string, unknown>;
  const at = (name: string): string => joinFieldPath(field, name);
  const issues: ValidationIssue[] = [];

  const format = r['audioFormat'];
  const formatOk = typeof format === 'string' && (RASR_AUDIO_FORMATS as readonly string[]).includes(format);
  if (format === undefined) issues.push({ field: at('audioFormat'), rule: 'is required' });
  else if (!formatOk) {
    issues.push({
      field: at('audioFormat'),
      rule: `must be one of ${RASR_AUDIO_FORMATS.join(', ')} (got ${JSON.stringify(format)})`,
    });
  }

  const property = r['property'];
  if (property === undefined) issues.push({ field: at('property'), rule: 'is required' });
  else {
    const m = typeof property === 'string' ? PROPERTY.exec(property) : null;
    const rate = m?.[1];
    if (rate === undefined) {
      issues.push({
        field: at('property'),
        rule: `must look like language_sampleRate_domain, e.g. chinese_16k_general (got ${JSON.stringify(property)})`,
      });
    } else if (rate !== '8k' && rate !== '16k') {
      issues.push({ field: at('property'), rule: `sample rate must be 8k or 16k (got ${rate})` });
    } else if (formatOk && audioFormatSampleRate(format as RasrAudioFormat) !== rate) {
      issues.push({ field: at('property'), rule: `sample rate ${rate} does not match ${at('audioFormat')} ${String(format)}` });
    }
  }

  for (const name of YES_NO_FIELDS) issues.push(...yesNoIssues(r[name], at(name)));
  for (const [name, { min, max, unit }] of Object.entries(RASR_LIMITS)) {
    if (r[name] !== undefined) issues.push(...intRangeIssues(r[name], at(name), min, max, unit));
  }
  const vocabularyId = r['vocabularyId'];
  if (vocabularyId !== undefined && (typeof vocabularyId !== 'string' || !/^\S+$/.test(vocabularyId))) {
    issues.push({ field: at('vocabularyId'), rule: 'must be a non-empty string without spaces; omit it when there is no hot-word table' });
  }
  const known = new Set(['audioFormat', 'property', 'vocabularyId', ...YES_NO_FIELDS, ...Object.keys(RASR_LIMITS)]);
  for (const key of Object.keys(r)) {
    if (!known.has(key)) issues.push({ field: at(key), rule: 'is not a known field' });
  }
  return issues;
}

/**
 * Checks a RASR request and fills in the defaults.
 * @throws ValidationError listing every broken rule
 */
export function normalizeRasrRequest(input: unknown, field = 'request'): RasrRequest {
  const issues = rasrRequestIssues(input, field);
  if (issues.length > 0) throw new ValidationError(issues);
  const r = input as RasrRequestInput;
  return {
    audioFormat: r.audioFormat as RasrAudioFormat,
    property: r.property,
    addPunc: toYesNo(r.addPunc, RASR_DEFAULTS.addPunc),
    digitNorm: toYesNo(r.digitNorm, RASR_DEFAULTS.digitNorm),
    vadHead: r.vadHead ?? RASR_DEFAULTS.vadHead,
    vadTail: r.vadTail ?? RASR_DEFAULTS.vadTail,
    maxSeconds: r.maxSeconds ?? RASR_DEFAULTS.maxSeconds,
    interimResults: toYesNo(r.interimResults, RASR_DEFAULTS.interimResults),
    ...(r.vocabularyId === undefined ? {} : { vocabularyId: r.vocabularyId }),
    needWordInfo: toYesNo(r.needWordInfo, RASR_DEFAULTS.needWordInfo),
  };
}
