import { z } from 'zod';
import type { ValidationIssue } from '../errors/index.js';
import {
  bucketNameIssues,
  intRangeIssues,
  metadataIssues,
  normalizeRasrRequest,
  objectKeyIssues,
  partNumberIssues,
  rasrRequestIssues,
  sourcePathIssues,
  sourceUrlIssues,
  type RasrRequestInput,
} from '../validation/index.js';
import { addRuleIssues } from './zodIssues.js';

/** Wraps a rule function as a zod refinement so zod reports exactly the rule function's messages. */
export function ruleRefinement<T>(rules: (value: T, field: string) => ValidationIssue[]) {
  return (value: T, ctx: z.RefinementCtx<T>): void => {
    addRuleIssues(ctx, rules(value, ''));
  };
}

const nonEmptyIssues = (s: string, field: string): ValidationIssue[] => (s.length === 0 ? [{ field, rule: 'must not be empty' }] : []);

/** A bucket name, checked with `bucketNameIssues`. */
export const bucketField = z.string().superRefine(ruleRefinement(bucketNameIssues));
/** An object key, checked with `objectKeyIssues`. */
export const keyField = z.string().superRefine(ruleRefinement(objectKeyIssues));
/** Any non-empty opaque string (upload ids, ETags, version ids). */
export const tokenField = z.string().superRefine(ruleRefinement(nonEmptyIssues));

/** An integer in `[min, max]`, with the shared range message. */
export function intField(min: number, max: number, unit?: string) {
  return z.number().superRefine(ruleRefinement((n: number, field) => intRangeIssues(n, field, min, max, unit)));
}

/** A byte count or offset: a non-negative safe integer. */
export const byteCountField = z.number().superRefine(
  ruleRefinement((n: number, field): ValidationIssue[] =>
    Number.isSafeInteger(n) && n >= 0 ? [] : [{ field, rule: `must be a non-negative integer (got ${n})` }],
  ),
);

/** A multipart part number, 1–10000. */
export const partNumberField = z.number().superRefine(ruleRefinement((n: number, field) => partNumberIssues(n, field)));

/** A MIME type for `Content-Type`; no control characters, since it becomes a header. */
export const contentTypeField = z.string().superRefine(
  ruleRefinement((s: string, field): ValidationIssue[] =>
    /^[\w.+-]+\/[\w.+-]+(\s*;[\x20-\x7e]*)?$/.test(s) ? [] : [{ field, rule: `must be a MIME type such as text/plain (got ${JSON.stringify(s)})` }],
  ),
);

/** Base64 MD5 of a part, as sent in `Content-MD5`. */
export const contentMd5Field = z.string().superRefine(
  ruleRefinement((s: string, field): ValidationIssue[] =>
    /^[A-Za-z0-9+/]{22}==$/.test(s) ? [] : [{ field, rule: 'must be a base64 MD5 digest (24 characters ending in "==")' }],
  ),
);

/** User metadata, checked with `metadataIssues`. */
export const metadataField = z.record(z.string(), z.string()).superRefine(ruleRefinement(metadataIssues));

/** A device or inode number as decimal text: 64-bit values do not fit a JSON number. */
const statIdField = z.string().superRefine(
  ruleRefinement((s: string, field): ValidationIssue[] => (/^\d{1,20}$/.test(s) ? [] : [{ field, rule: `must be a decimal integer (got ${JSON.stringify(s.slice(0, 40))})` }])),
);

/**
 * The version of a local file as the producer saw it at enqueue (`filePinOf`). Every read of the
 * file re-checks it before and after reading; any difference fails with `OBSQ_SOURCE_CHANGED`.
 */
export const filePinSchema = z.strictObject({
  /** Bytes. */
  size: byteCountField,
  /** Modification time in ms since the epoch, with the sub-millisecond fraction. */
  mtimeMs: z.number().superRefine(ruleRefinement((n: number, field): ValidationIssue[] => (Number.isFinite(n) ? [] : [{ field, rule: 'must be a finite number' }]))),
  /** Inode number (decimal). */
  ino: statIdField,
  /** Device number (decimal). */
  dev: statIdField,
});

/**
 * A local file the worker reads; the worker also requires it under `OBSQ_SOURCE_ROOTS`. The pin is
 * part of the source so every job kind that reads files checks it.
 */
export const fileSourceSchema = z.strictObject({
  kind: z.literal('file'),
  /** Absolute, normalised path on the worker's machine. */
  path: z.string().superRefine(ruleRefinement(sourcePathIssues)),
  pin: filePinSchema,
});

/** An http(s) object the worker downloads with range requests; `etag`/`lastModified` pin its version. */
export const urlSourceSchema = z.strictObject({
  kind: z.literal('url'),
  url: z.string().superRefine(ruleRefinement(sourceUrlIssues)),
  etag: tokenField.optional(),
  lastModified: tokenField.optional(),
  /** Size of the whole remote object, in bytes. */
  size: byteCountField,
});

/** Where the bytes of an upload come from. */
export const uploadSourceSchema = z.discriminatedUnion('kind', [fileSourceSchema, urlSourceSchema]);

/** An existing object, optionally pinned to a version or ETag. */
export const objectRefSchema = z.strictObject({
  bucket: bucketField,
  key: keyField,
  etag: tokenField.optional(),
  versionId: tokenField.optional(),
});

/**
 * A RASR request, checked with `rasrRequestIssues` and normalised (defaults filled, booleans turned
 * into `yes`/`no`). Its field path is always `request`, which the cross-field messages name.
 */
export const rasrRequestSchema = z.custom<RasrRequestInput>(() => true).transform((value, ctx) => {
  const issues = rasrRequestIssues(value, 'request');
  if (issues.length > 0) {
    addRuleIssues(ctx, issues, 'request');
    return z.NEVER;
  }
  return normalizeRasrRequest(value);
});
