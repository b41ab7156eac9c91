import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  checkInput,
  contentTypeRule,
  integer,
  jobIdRule,
  partSizeRule,
  ValidationError,
  WAIT_TIMEOUT_MAX_MS,
  type InputRule,
  type ValidationIssue,
} from '@obsq/shared';

/** `--timeout-ms` as typed: digits only, then the contract's range. */
const timeoutRule: InputRule = (v, f) =>
  typeof v === 'string' && /^\d{1,16}$/.test(v) ? integer(1, WAIT_TIMEOUT_MAX_MS, 'ms')(Number(v), f) : [{ field: f, rule: `must be a whole number of milliseconds (got ${JSON.stringify(v)})` }];

/** Flags whose values the contract checks, whichever command takes them. */
const FLAG_RULES: Record<string, InputRule> = {
  'part-size': partSizeRule,
  'content-type': contentTypeRule,
  'job-id': jobIdRule,
  'timeout-ms': timeoutRule,
};

/** Flags that only mean something together with another flag. */
const NEEDS: Record<string, string> = { 'timeout-ms': 'wait' };

/**
 * `parseArgs` (strict) plus the checks every command shares, all before anything is enqueued:
 * arguments must be valid UTF-8 (Node turns invalid bytes into U+FFFD, which would silently become
 * part of a key or path), unknown flags and missing values are `ValidationError`s naming the flag,
 * flag values pass the contract's rules, and a flag given without the flag it depends on is refused.
 */
export function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  const args = config.args ?? [];
  const issues: ValidationIssue[] = [];
  args.forEach((a, i) => {
    if (a.includes('\uFFFD')) issues.push({ field: `argument ${i + 1}`, rule: 'is not valid UTF-8 (undecodable bytes became U+FFFD); pass names as UTF-8' });
  });
  if (issues.length > 0) throw new ValidationError(issues);
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    // Strict is parseArgs' default; it is forced here so no command can turn it off.
    parsed = parseArgs({ ...config, strict: true }) as ReturnType<typeof parseArgs<T>>;
  } catch (err) {
    const message = (err as Error).message;
    const flag = /'(-{1,2}[^'\s]+)/.exec(message)?.[1] ?? 'arguments';
    throw new ValidationError([{ field: flag, rule: message.replace(/\. To specify a positional argument.*$/s, '') }], { cause: err });
  }
  const values = parsed.values as Record<string, unknown>;
  const given = (name: string) => args.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  for (const [name, rule] of Object.entries(FLAG_RULES)) {
    if (values[name] !== undefined && (given(name) || name !== 'timeout-ms')) issues.push(...rule(values[name], `--${name}`));
  }
  for (const [name, needed] of Object.entries(NEEDS)) {
    if (given(name) && values[needed] !== true) issues.push({ field: `--${name}`, rule: `applies only with --${needed}` });
  }
  checkInput(() => issues, undefined);
  return parsed;
}
