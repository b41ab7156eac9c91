const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/**
 * Formats a byte count with binary (IEC) units and at most two decimals, dropping trailing zeros:
 * `0 B`, `1023 B`, `100 KiB`, `1.5 GiB`. Negative or non-finite input is printed as is.
 */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return `${n} B`;
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const text = unit === 0 ? String(value) : value.toFixed(2).replace(/\.?0+$/, '');
  return `${text} ${UNITS[unit]}`;
}
