/**
 * Formats ms as a subtitle timestamp: `HH:MM:SS,mmm` (SRT, `separator` `,`) or `HH:MM:SS.mmm`
 * (WebVTT, `.`). Hours are not wrapped at 24 and grow past two digits when needed; negative and
 * fractional inputs are clamped and rounded to whole ms.
 */
export function cueTime(ms: number, separator: ',' | '.'): string {
  const total = Math.max(0, Math.round(Number.isFinite(ms) ? ms : 0));
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = Math.floor((total % 60_000) / 1000);
  const milli = total % 1000;
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}${separator}${pad(milli, 3)}`;
}
