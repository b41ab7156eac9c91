import { ValidationError, type ValidationIssue } from '../errors/index.js';
import {
  bucketNameIssues,
  isPlainObject,
  joinFieldPath,
  MAX_PART_SIZE,
  metadataIssues,
  objectKeyIssues,
  parseSize,
  RASR_MODES,
  rasrRequestIssues,
  sourceUrlIssues,
  textIssues,
  typeName,
} from '../validation/index.js';
import { OUTPUT_PREFIX_MAX_BYTES, TRANSCRIPT_FORMATS } from './jobCatalog.js';

/*
 * The one validation layer for what callers hand the producer API (and, through it, the CLI): the
 * shape and types of every input, checked before anything is enqueued or sent, so no JavaScript
 * TypeError ever reaches a caller. Field values are then checked again, in depth, by the job
 * catalog's schemas (`parsePayload`).
 */

/** A check of one value at a field path. */
export type InputRule = (value: unknown, field: string) => ValidationIssue[];

/** `rule`, and `is required` when the value is missing. */
export const required =
  (rule: InputRule): InputRule =>
  (v, f) =>
    v === undefined ? [{ field: f, rule: 'is required' }] : rule(v, f);

/** `rule` when the value is given. */
export const optional =
  (rule: InputRule): InputRule =>
  (v, f) =>
    v === undefined ? [] : rule(v, f);

/**
 * A plain object with these fields; any other field is refused (a typo such as `partsize` must not
 * be ignored silently).
 */
export function objectOf(shape: Record<string, InputRule>, what = 'an object'): InputRule {
  return (v, f) => {
    if (!isPlainObject(v)) return [{ field: f || '(input)', rule: `must be ${what} (got ${typeName(v)})` }];
    const issues: ValidationIssue[] = [];
    for (const key of Object.keys(v)) {
      if (!(key in shape) && v[key] !== undefined) issues.push({ field: joinFieldPath(f, key), rule: 'is not a known field' });
    }
    for (const [key, rule] of Object.entries(shape)) issues.push(...rule(v[key], joinFieldPath(f, key)));
    return issues;
  };
}

/** Text of bounded UTF-8 length, valid Unicode, no control characters. */
export const text =
  (maxBytes: number, minBytes = 1): InputRule =>
  (v, f) =>
    textIssues(v, f, { minBytes, maxBytes });

/** One of a fixed set of strings. */
export const oneOf =
  (values: readonly string[]): InputRule =>
  (v, f) =>
    typeof v === 'string' && values.includes(v) ? [] : [{ field: f, rule: `must be one of ${values.join(', ')} (got ${JSON.stringify(v) ?? typeName(v)})` }];

/** A boolean. */
export const bool: InputRule = (v, f) => (typeof v === 'boolean' ? [] : [{ field: f, rule: `must be true or false (got ${typeName(v)})` }]);

/** An integer in `[min, max]` (`unit` in the message). */
export const integer =
  (min: number, max: number, unit = ''): InputRule =>
  (v, f) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max
      ? []
      : [{ field: f, rule: `must be an integer from ${min} to ${max}${unit ? ` ${unit}` : ''} (got ${typeof v === 'number' ? String(v) : typeName(v)})` }];

/** A list whose items pass `item`, with at most `max` entries. */
export const arrayOf =
  (item: InputRule, max: number): InputRule =>
  (v, f) => {
    if (!Array.isArray(v)) return [{ field: f, rule: `must be a list (got ${typeName(v)})` }];
    if (v.length > max) return [{ field: f, rule: `must have at most ${max} entries (got ${v.length})` }];
    return v.flatMap((x, i) => item(x, joinFieldPath(f, i)));
  };

/** A bucket name (type first, then every OBS naming rule). */
export const bucketRule: InputRule = (v, f) => (typeof v === 'string' ? bucketNameIssues(v, f) : [{ field: f, rule: `must be a string (got ${typeName(v)})` }]);
/** An object key. */
export const keyRule: InputRule = (v, f) => objectKeyIssues(v, f);

const JOB_ID = /^(?!\d+$)[A-Za-z0-9._-]{1,200}$/;
/** A caller-chosen job id: BullMQ reserves `:` and purely numeric ids. */
export const jobIdRule: InputRule = (v, f) =>
  typeof v === 'string' && JOB_ID.test(v) ? [] : [{ field: f, rule: `must be 1 to 200 characters of letters, digits, ".", "_" or "-", and not only digits (got ${JSON.stringify(typeof v === 'string' ? v.slice(0, 80) : typeName(v))})` }];

/** A job id to look up (any id a job may have; bounded, printable). */
export const jobIdLookupRule: InputRule = text(1024);

/** `Content-Type`: it becomes a header, so printable ASCII in MIME form only. */
export const contentTypeRule: InputRule = (v, f) =>
  typeof v === 'string' && v.length <= 256 && /^[\w.+-]+\/[\w.+-]+(\s*;[\x20-\x7e]*)?$/.test(v)
    ? []
    : [{ field: f, rule: `must be a MIME type such as text/plain (got ${JSON.stringify(typeof v === 'string' ? v.slice(0, 80) : typeName(v))})` }];

/** A part size: bytes (a positive integer up to 5 GiB) or text such as `8MiB`. */
export const partSizeRule: InputRule = (v, f) => {
  let n: unknown = v;
  if (typeof v === 'string') {
    try {
      n = parseSize(v, f);
    } catch (err) {
      return (err as { issues?: ValidationIssue[] }).issues ?? [{ field: f, rule: (err as Error).message }];
    }
  } else if (typeof v !== 'number') {
    return [{ field: f, rule: `must be a number of bytes or a size such as 8MiB (got ${typeName(v)})` }];
  }
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 && n <= MAX_PART_SIZE
    ? []
    : [{ field: f, rule: `must be a whole number of bytes from 1 to ${MAX_PART_SIZE} (got ${String(v)})` }];
};

/** A local path as given by a caller (made absolute by the producer; the worker checks roots). */
export const localPathRule: InputRule = (v, f) => {
  const issues = textIssues(v, f, { minBytes: 1, maxBytes: 4096 });
  return issues;
};

/** An http(s) URL, type first. */
export const urlRule: InputRule = (v, f) => (typeof v === 'string' ? sourceUrlIssues(v, f) : [{ field: f, rule: `must be a string (got ${typeName(v)})` }]);

/** A discriminated union on `kind`: the rule of the matching kind, else one issue naming the kinds. */
function byKind(kinds: Record<string, InputRule>, fallbackKind?: string): InputRule {
  const names = Object.keys(kinds);
  return (v, f) => {
    if (!isPlainObject(v)) return [{ field: f, rule: `must be an object with kind ${names.map((k) => JSON.stringify(k)).join(' or ')} (got ${typeName(v)})` }];
    const kind = v.kind ?? fallbackKind;
    const rule = typeof kind === 'string' ? kinds[kind] : undefined;
    if (!rule) return [{ field: joinFieldPath(f, 'kind'), rule: `must be ${names.map((k) => JSON.stringify(k)).join(' or ')} (got ${JSON.stringify(v.kind) ?? typeName(v.kind)})` }];
    return rule(v, f);
  };
}

const kindRule = (kind: string, optionalKind = false): InputRule => (optionalKind ? optional(oneOf([kind])) : required(oneOf([kind])));

const uploadSourceRule = byKind({
  file: objectOf({ kind: kindRule('file'), path: required(localPathRule) }),
  url: objectOf({ kind: kindRule('url'), url: required(urlRule) }),
});

const tokenRule = text(1024);

/** `Producer.enqueueUpload` input. */
export const uploadInputRule: InputRule = objectOf(
  {
    source: required(uploadSourceRule),
    bucket: required(bucketRule),
    key: required(keyRule),
    partSize: optional(partSizeRule),
    contentType: optional(contentTypeRule),
    metadata: optional((v, f) => metadataIssues(v, f)),
    jobId: optional(jobIdRule),
  },
  'an upload input { source, bucket, key, ... }',
);

/** `Producer.enqueueCopy` input. */
export const copyInputRule: InputRule = objectOf(
  {
    source: required(objectOf({ bucket: required(bucketRule), key: required(keyRule), versionId: optional(tokenRule) })),
    target: required(objectOf({ bucket: required(bucketRule), key: required(keyRule) })),
    metadataDirective: optional(oneOf(['COPY', 'REPLACE'])),
    metadata: optional((v, f) => metadataIssues(v, f)),
    contentType: optional(contentTypeRule),
    ifMatch: optional(tokenRule),
    partSize: optional(partSizeRule),
    jobId: optional(jobIdRule),
  },
  'a copy input { source, target, ... }',
);

/** No entry twice. */
const unique =
  (rule: InputRule): InputRule =>
  (v, f) => {
    const issues = rule(v, f);
    if (issues.length > 0 || !Array.isArray(v)) return issues;
    const dup = v.filter((x, i) => v.indexOf(x) !== i);
    return dup.length > 0 ? [{ field: f, rule: `must not repeat an entry (got ${[...new Set(dup)].map((d) => JSON.stringify(d)).join(', ')} twice)` }] : [];
  };

const outputRule = objectOf({
  bucket: required(bucketRule),
  prefix: required(text(OUTPUT_PREFIX_MAX_BYTES, 0)),
  formats: optional(unique(arrayOf(oneOf(TRANSCRIPT_FORMATS), TRANSCRIPT_FORMATS.length))),
});
/** A RASR request: an object, every field checked by `rasrRequestIssues` (so one error names them all). */
const requestRule: InputRule = (v, f) =>
  isPlainObject(v) ? rasrRequestIssues(v, f) : [{ field: f, rule: `must be an object such as { audioFormat, property } (got ${typeName(v)})` }];


/** `Producer.enqueueTranscription` input. */
export const transcriptionInputRule: InputRule = objectOf(
  {
    audio: required(
      byKind(
        {
          object: objectOf({ kind: kindRule('object', true), bucket: required(bucketRule), key: required(keyRule), versionId: optional(tokenRule), etag: optional(tokenRule) }),
          url: objectOf({ kind: kindRule('url'), url: required(urlRule) }),
          file: objectOf({ kind: kindRule('file'), path: required(localPathRule) }),
        },
        'object',
      ),
    ),
    request: required(requestRule),
    output: optional(outputRule),
    engine: optional(oneOf(['sis', 'local'])),
    mode: optional(oneOf(RASR_MODES)),
    jobId: optional(jobIdRule),
  },
  'a transcription input { audio, request, ... }',
);

/** `Producer.scheduleTranscriptions` input. */
/** An IANA time zone name (`UTC`, `Asia/Shanghai`). */
const timeZoneRule: InputRule = (v, f) => {
  const issues = text(64)(v, f);
  if (issues.length > 0) return issues;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: v as string });
    return [];
  } catch {
    return [{ field: f, rule: `must be an IANA time zone such as UTC or Asia/Shanghai (got ${JSON.stringify(v)})` }];
  }
};

export const scheduleInputRule: InputRule = objectOf(
  {
    id: required(text(100)),
    cron: required(text(200)),
    tz: optional(timeZoneRule),
    bucket: required(bucketRule),
    prefix: optional(text(1024, 0)),
    suffixes: optional(arrayOf(text(32), 100)),
    request: required(requestRule),
    output: required(outputRule),
    engine: optional(oneOf(['sis', 'local'])),
    mode: optional(oneOf(RASR_MODES)),
    maxTries: optional(integer(1, 100)),
    retryDelayMs: optional(integer(0, 2_147_483_647, 'ms')),
  },
  'a schedule input { id, cron, bucket, request, output, ... }',
);

/** Longest wait `waitForResult` accepts: what a timer can hold (~24.8 days). */
export const WAIT_TIMEOUT_MAX_MS = 2_147_483_647;

/** `Producer.waitForResult` options. */
export const waitOptionsRule: InputRule = objectOf({
  timeoutMs: optional(integer(1, WAIT_TIMEOUT_MAX_MS, 'ms')),
  signal: optional((v, f) => (v instanceof AbortSignal ? [] : [{ field: f, rule: `must be an AbortSignal (got ${typeName(v)})` }])),
});

/** An optional `AbortSignal` argument. */
export const signalRule: InputRule = optional((v, f) => (v instanceof AbortSignal ? [] : [{ field: f, rule: `must be an AbortSignal (got ${typeName(v)})` }]));

/**
 * Throws a `ValidationError` naming every field `rule` refuses in `value` (field paths start at
 * `field`, empty for a whole input object).
 */
export function checkInput(rule: InputRule, value: unknown, field = ''): void {
  const issues = rule(value, field);
  if (issues.length > 0) throw new ValidationError(issues);
}
