import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration, ValidationError } from '@obsq/shared';

/**
 * A command line the command cannot run: unknown or missing flag, bad flag value, wrong number of
 * arguments. `main` prints its one-line message with a pointer to `--help` and exits 2.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `parseArgs` whose complaints (unknown option, missing value) become a {@link UsageError}. */
export function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

/** A duration flag (`--since 1h`) in ms; a bad value is a {@link UsageError} naming the flag. */
export function durationFlag(value: string, flag: string): number {
  try {
    return parseDuration(value, `--${flag}`);
  } catch (err) {
    throw new UsageError(err instanceof ValidationError ? err.message : String(err));
  }
}

/** True when the arguments ask for help. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/** Exit codes shared by the operator commands (documented in docs/operations.md). */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** The command ran but could not do (all of) it: nothing to retry or cancel, an abort failed. */
  failed: 1,
  /** Bad command line or configuration. */
  usage: 2,
  /** No such job (or batch). */
  notFound: 3,
} as const;
