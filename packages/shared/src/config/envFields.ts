import { z } from 'zod';
import { formatBytes, parseSize } from '../validation/index.js';

/** Marks a variable without a default. */
export const REQUIRED: unique symbol = Symbol('required');

/** Outcome of parsing one variable's text. */
type Parsed<T> = { ok: true; value: T } | { ok: false; rule: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = (rule: string): Parsed<never> => ({ ok: false, rule });

/** How a variable's text is quoted in messages; secret variables never echo their value. */
function got(raw: string): string {
  return `(got ${JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}...` : raw)})`;
}

/**
 * Builds a zod schema for one environment variable. Unset and empty (or blank) values both count as
 * unset: docker-compose and CI templates often pass `VAR=` for "nothing". Then `fallback` decides:
 * a value, `undefined`, or `REQUIRED` for an `is required` issue.
 */
export function envField<T, F extends T | undefined = T>(parse: (raw: string) => Parsed<T>, fallback: F | typeof REQUIRED) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T | F => {
      if (raw === undefined || raw.trim() === '') {
        if (fallback === REQUIRED) {
          ctx.addIssue({ code: 'custom', message: 'is required' });
          return z.NEVER;
        }
        return fallback;
      }
      const parsed = parse(raw.trim());
      if (parsed.ok) return parsed.value;
      ctx.addIssue({ code: 'custom', message: parsed.rule });
      return z.NEVER;
    });
}

const TRUE = ['true', '1', 'yes'];
const FALSE = ['false', '0', 'no'];

function parseBool(raw: string): Parsed<boolean> {
  const v = raw.toLowerCase();
  if (TRUE.includes(v)) return ok(true);
  if (FALSE.includes(v)) return ok(false);
  return bad(`must be one of true, false, 1, 0, yes, no ${got(raw)}`);
}

/**
 * A boolean variable: `true/false/1/0/yes/no`, case-insensitive; unset is `undefined`, so chain
 * `.default(false)` or use {@link boolEnv}.
 */
export const BoolEnv = envField<boolean, undefined>(parseBool, undefined);

/** A boolean variable with a default. */
export function boolEnv(fallback: boolean) {
  return envField<boolean>(parseBool, fallback);
}

/** Options of {@link intEnv}. */
export interface IntEnvOptions {
  /** Value when unset; `REQUIRED` when there is none. */
  default: number | typeof REQUIRED;
  /** @defaultValue 1 */
  min?: number;
  /** @defaultValue Number.MAX_SAFE_INTEGER */
  max?: number;
}

/** An integer variable: `must be a positive integer (got "abc")`, or the range when bounded above. */
export function intEnv(options: IntEnvOptions) {
  const min = options.min ?? 1;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  const rule =
    max !== Number.MAX_SAFE_INTEGER
      ? `must be an integer from ${min} to ${max}`
      : min === 1
        ? 'must be a positive integer'
        : min === 0
          ? 'must be a non-negative integer'
          : `must be an integer of at least ${min}`;
  return envField<number>((raw) => {
    const n = /^[+-]?\d+$/.test(raw) ? Number(raw) : Number.NaN;
    return Number.isSafeInteger(n) && n >= min && n <= max ? ok(n) : bad(`${rule} ${got(raw)}`);
  }, options.default);
}

/** A non-negative decimal variable (`0`, `1.5`). */
export function numberEnv(fallback: number) {
  return envField<number>((raw) => {
    const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
    return Number.isFinite(n) ? ok(n) : bad(`must be a non-negative number ${got(raw)}`);
  }, fallback);
}

/** One of a fixed set of values. */
export function enumEnv<const V extends string, F extends V | undefined = V>(values: readonly V[], fallback: F | typeof REQUIRED) {
  return envField<V, F>(
    (raw) => ((values as readonly string[]).includes(raw) ? ok(raw as V) : bad(`must be one of ${values.join(', ')} ${got(raw)}`)),
    fallback,
  );
}

/** Options of {@link stringEnv}. */
export interface StringEnvOptions {
  /** Value when unset: a string, `undefined`, or `REQUIRED`. */
  default: string | undefined | typeof REQUIRED;
  /** Never quote the value in a message (keys, tokens). @defaultValue false */
  secret?: boolean;
  /** Extra check; returns the rule text when the value is bad. */
  check?: (raw: string) => string | undefined;
}

/** A string variable. */
export function stringEnv(options: StringEnvOptions) {
  return envField<string, string | undefined>((raw) => {
    const rule = options.check?.(raw);
    if (rule === undefined) return ok(raw);
    return bad(options.secret === true ? rule : `${rule} ${got(raw)}`);
  }, options.default);
}

/** A URL variable restricted to some schemes (`['http:', 'https:']`); trailing slashes dropped. */
export function urlEnv(protocols: readonly string[], fallback: string | undefined | typeof REQUIRED) {
  const rule = `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
  return envField<string, string | undefined>((raw) => {
    try {
      const url = new URL(raw);
      if (!protocols.includes(url.protocol)) return bad(`${rule} ${got(raw)}`);
      return ok(raw.replace(/\/+$/, ''));
    } catch {
      return bad(`${rule} ${got(raw)}`);
    }
  }, fallback);
}

/** A byte size variable (`8MiB`, `100KiB`, `5GB`, `1048576`) within `[min, max]`. */
export function sizeEnv<F extends number | undefined>(fallback: F, min: number, max: number) {
  return envField<number, F>((raw) => {
    let n: number;
    try {
      n = parseSize(raw);
    } catch {
      return bad(`must be a byte size such as 1048576, 100KiB, 8MiB or 5GB ${got(raw)}`);
    }
    if (n < min) return bad(`must be at least ${min} bytes (${formatBytes(min)}) ${got(raw)}`);
    if (n > max) return bad(`must be at most ${max} bytes (${formatBytes(max)}) ${got(raw)}`);
    return ok(n);
  }, fallback);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration variable in ms: `60` (seconds), `60s`, `5m`, `1h`, `500ms`; at least `minMs`. */
export function durationEnv(fallbackMs: number, minMs = 1) {
  return envField<number>((raw) => {
    const m = /^(\d+)\s*(ms|s|m|h)?$/i.exec(raw);
    const ms = m ? Number(m[1]) * DURATION_UNITS[(m[2] ?? 's').toLowerCase()]! : Number.NaN;
    if (!Number.isSafeInteger(ms)) return bad(`must be a duration such as 60 (seconds), 60s, 5m or 1h ${got(raw)}`);
    if (ms < minMs) return bad(`must be at least ${minMs} ms ${got(raw)}`);
    return ok(ms);
  }, fallbackMs);
}
