import pino from 'pino';
import { redactDeep } from './redactDeep.js';
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

/**
 * Creates the service's root logger (call once, in `main`): JSON lines with `service` and `version`,
 * errors under `err`, secrets redacted by key at any depth (see {@link redactDeep}; pino's redact
 * paths have no recursive wildcard), signed-URL parameters blanked in any `url`-like field, and every
 * string capped at `LOG_FIELD_MAX_CHARS` with its length noted (a 10 MiB key is not a 20 MiB line).
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const destination =
    typeof options.destination === 'object' ? options.destination : pino.destination({ dest: options.destination ?? 1, sync: true });
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, version: options.version },
      serializers: { err: (e: Error) => redactDeep(pino.stdSerializers.err(e)), url: (u: unknown) => (typeof u === 'string' ? redactUrl(u) : u) },
      formatters: {
        log: (obj) => redactDeep(obj),
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
