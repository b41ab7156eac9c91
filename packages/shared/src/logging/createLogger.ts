import pino from 'pino';
import { capText, LOG_FIELD_MAX_CHARS } from '../errors/index.js';
import { redactUrl } from './redactUrl.js';

/** pino level names, `silent` included. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The logger every obsq component takes. */
export type Logger = pino.Logger;

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Service name, bound as `service` on every line, e.g. `obsq-worker`. */
  service: string;
  /** Service version, bound as `version`. */
  version: string;
  /** @defaultValue `'info'` */
  level?: LogLevel;
  /**
   * Where lines go: a stream, or a file descriptor written synchronously (2 for stderr).
   * @defaultValue synchronous stdout (fd 1), so nothing is lost on exit
   */
  destination?: pino.DestinationStream | number;
}

const SECRET_KEYS = [
  'secretAccessKey',
  'accessKeyId',
  'securityToken',
  'sk',
  'ak',
  'token',
  'password',
  'signature',
  'authorization',
  'Authorization',
  '["x-auth-token"]',
  '["x-amz-security-token"]',
  '["x-obs-security-token"]',
];

function at(prefix: string, key: string): string {
  return key.startsWith('[') ? `${prefix}${key}` : `${prefix}.${key}`;
}

/**
 * Paths pino blanks. pino has no recursive wildcard, so each secret key is listed at the top level and
 * one and two levels down (`{ config: { obs: { secretAccessKey } } }` is covered).
 */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_KEYS.flatMap((k) => [k.startsWith('[') ? `headers${k}` : k, at('*', k), at('*.*', k)]),
  'req.headers.authorization',
  'headers.authorization',
];

const URL_KEY = /url|href|uri$|endpoint/i;
const MAX_DEPTH = 4;

/**
 * Copy-on-write walk that runs {@link redactUrl} over every string under a url-like key and caps
 * every string at {@link LOG_FIELD_MAX_CHARS} (its length noted), so user-controlled keys, URLs and
 * messages cannot make a line megabytes long.
 */
function redactUrls(value: unknown, depth: number, urlKey: boolean): unknown {
  if (typeof value === 'string') return capText(urlKey ? redactUrl(value) : value, LOG_FIELD_MAX_CHARS);
  if (depth >= MAX_DEPTH || typeof value !== 'object' || value === null || value instanceof Error) return value;
  if (Array.isArray(value)) {
    const out = value.map((v) => redactUrls(v, depth + 1, urlKey));
    return out.some((v, i) => v !== value[i]) ? out : value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const next = redactUrls(v, depth + 1, URL_KEY.test(k));
    if (next !== v) {
      copy ??= { ...(value as Record<string, unknown>) };
      copy[k] = next;
    }
  }
  return copy ?? value;
}

/**
 * Creates the service's root logger (call once, in `main`): JSON lines with `service` and `version`,
 * errors under `err`, secrets redacted by key (see {@link REDACT_PATHS}) and signed-URL parameters
 * blanked in any `url`-like field.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const destination =
    typeof options.destination === 'object' ? options.destination : pino.destination({ dest: options.destination ?? 1, sync: true });
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, version: options.version },
      redact: { paths: [...REDACT_PATHS], censor: '[REDACTED]' },
      serializers: { err: (e: Error) => redactUrls(pino.stdSerializers.err(e), 0, false), url: (u: unknown) => (typeof u === 'string' ? redactUrl(u) : u) },
      formatters: {
        log: (obj) => redactUrls(obj, 0, false) as Record<string, unknown>,
      },
    },
    destination,
  );
}

/** Flushes buffered lines (a no-op for the default synchronous stdout); call before `process.exit`. */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    logger.flush(() => resolve());
  });
}
