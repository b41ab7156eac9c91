import { redactUrl } from '../logging/index.js';

/** Config keys whose values are secrets. */
export const SECRET_CONFIG_KEYS: readonly string[] = ['accessKeyId', 'secretAccessKey', 'securityToken', 'ak', 'sk', 'token', 'password'];

/** The value secrets are replaced with. */
export const REDACTED = '[REDACTED]';

function walk(value: unknown): unknown {
  if (typeof value === 'string') return redactUrl(value);
  if (Array.isArray(value)) return value.map(walk);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_CONFIG_KEYS.includes(k) && v !== undefined ? REDACTED : walk(v)]),
  );
}

/**
 * A deep copy of a config with every secret blanked (keys, tokens, passwords, credentials inside
 * URLs such as `redis://:pw@host`), fit for a startup log line.
 */
export function redactConfig<T>(cfg: T): T {
  return walk(cfg) as T;
}
