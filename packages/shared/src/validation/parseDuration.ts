import { ValidationError } from '../errors/index.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/i;

/**
 * Parses a duration with a unit into milliseconds: `500ms`, `30s`, `15m`, `1h`, `1.5h`, `7d`
 * (case-insensitive). A bare number is refused: `--older-than 24` could mean hours or seconds.
 *
 * @param field - the flag or field named in the error
 * @throws ValidationError naming `field`
 */
export function parseDuration(text: string, field = 'duration'): number {
  const m = DURATION.exec(text.trim());
  if (m === null) {
    throw new ValidationError([{ field, rule: `must be a duration with a unit such as 90s, 15m, 1h or 7d (got ${JSON.stringify(text)})` }]);
  }
  const ms = Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(ms)) throw new ValidationError([{ field, rule: `is too large (got ${JSON.stringify(text)})` }]);
  return ms;
}
