import { ValidationError } from '../errors/index.js';

const MULTIPLIERS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

const SIZE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

/**
 * Parses a byte size: a plain integer (`1048576`) or a number with an SI (`KB`, `MB`, `GB`, `TB`:
 * powers of 1000) or IEC (`KiB`, `MiB`, `GiB`, `TiB`: powers of 1024) suffix, case-insensitive, e.g.
 * `8MiB`, `100 KiB`, `1.5GB`. The result must be a whole number of bytes.
 *
 * @param field - the field or variable named in the error
 * @defaultValue field `'size'`
 * @throws ValidationError on anything else, naming `field`
 */
export function parseSize(text: string, field = 'size'): number {
  const fail = (why: string): never => {
    throw new ValidationError([{ field, rule: `${why} (got ${JSON.stringify(text)})` }]);
  };
  const m = SIZE.exec(text.trim());
  if (m === null) return fail('must be a byte size such as 1048576, 100KiB, 8MiB or 5GB');
  const [, num = '', suffix = ''] = m;
  const multiplier = suffix === '' ? 1 : MULTIPLIERS[suffix.toLowerCase()];
  if (multiplier === undefined) {
    return fail(`has an unknown unit ${JSON.stringify(suffix)}; use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB`);
  }
  // BigInt keeps 1.1KB at exactly 1100 where float multiplication would not.
  const [intPart = '', fracPart = ''] = num.split('.');
  const scaled = BigInt(intPart + fracPart) * BigInt(multiplier);
  const divisor = 10n ** BigInt(fracPart.length);
  if (scaled % divisor !== 0n) return fail('must be a whole number of bytes');
  const bytes = scaled / divisor;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) return fail('is too large');
  return Number(bytes);
}
