import { capText, LOG_FIELD_MAX_CHARS } from '../errors/index.js';
import { redactUrl } from './redactUrl.js';

/**
 * Keys whose values never reach a log line, compared case-insensitively at any depth (objects,
 * arrays, error properties): credentials, tokens, passwords, signatures and auth headers.
 */
export const SECRET_LOG_KEYS: readonly string[] = [
  'secretAccessKey',
  'accessKeyId',
  'securityToken',
  'sk',
  'ak',
  'token',
  'password',
  'signature',
  'authorization',
  'x-auth-token',
  'x-amz-security-token',
  'x-obs-security-token',
];

/** What a secret is replaced with. */
export const LOG_CENSOR = '[REDACTED]';

/** Limits of {@link redactDeep}: what lies past them is dropped, never printed unchecked. */
export const REDACT_LIMITS = {
  /** Nesting levels walked; a deeper subtree becomes `[Truncated]`. */
  maxDepth: 32,
  /** Objects and arrays visited per call; the ones after that become `[Truncated]`. */
  maxNodes: 10_000,
} as const;

const SECRET = new Set(SECRET_LOG_KEYS.map((k) => k.toLowerCase()));
const URL_KEY = /url|href|uri$|endpoint/i;
const TRUNCATED = '[Truncated]';
const CIRCULAR = '[Circular]';

interface Walk {
  nodes: number;
  /** Objects on the path from the root to here (a cycle points back at one of them). */
  path: Set<object>;
}

/** A shallow copy keeping the prototype (so `toJSON` and pino's error detection still work). */
function shallowCopy(value: object): Record<string, unknown> {
  if (Array.isArray(value)) return [...value] as unknown as Record<string, unknown>;
  return Object.create(Object.getPrototypeOf(value) as object | null, Object.getOwnPropertyDescriptors(value)) as Record<string, unknown>;
}

function walk(value: unknown, depth: number, urlKey: boolean, state: Walk): unknown {
  if (typeof value === 'string') return capText(urlKey ? redactUrl(value) : value, LOG_FIELD_MAX_CHARS);
  if (typeof value !== 'object' || value === null) return value;
  // Bytes, dates, maps and sets hold no keyed secrets and can be large: print them as they are.
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date || value instanceof Map || value instanceof Set) {
    return value;
  }
  if (state.path.has(value)) return CIRCULAR;
  if (depth >= REDACT_LIMITS.maxDepth || ++state.nodes > REDACT_LIMITS.maxNodes) return TRUNCATED;
  state.path.add(value);
  try {
    const keys: string[] = Object.keys(value);
    // An error's cause is usually not enumerable, yet pino prints it.
    if (value instanceof Error && 'cause' in value && !keys.includes('cause')) keys.push('cause');
    let copy: Record<string, unknown> | undefined;
    const isArray = Array.isArray(value);
    for (const k of keys) {
      const v = (value as Record<string, unknown>)[k];
      const next = !isArray && SECRET.has(k.toLowerCase()) && v !== undefined ? LOG_CENSOR : walk(v, depth + 1, isArray ? urlKey : URL_KEY.test(k), state);
      if (next !== v) {
        copy ??= shallowCopy(value);
        copy[k] = next;
      }
    }
    return copy ?? value;
  } finally {
    state.path.delete(value);
  }
}

/**
 * A copy of `value` fit for a log line: every value under a secret key ({@link SECRET_LOG_KEYS})
 * is replaced by `[REDACTED]` at any depth, in arrays and error properties too; strings under
 * url-like keys lose signatures and credentials ({@link redactUrl}). Copy-on-write: the caller's
 * objects are never changed, and a value with nothing to redact is returned as is. Bounded: cycles
 * print as `[Circular]`, and past {@link REDACT_LIMITS} a subtree prints as `[Truncated]`.
 */
export function redactDeep<T>(value: T): T {
  return walk(value, 0, false, { nodes: 0, path: new Set() }) as T;
}
