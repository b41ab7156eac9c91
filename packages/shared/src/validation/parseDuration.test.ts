import { describe, expect, it } from 'vitest';
import { parseDuration } from './parseDuration.js';

describe('parseDuration', () => {
  it('reads a number with a unit as milliseconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration(' 7D ')).toBe(604_800_000);
  });

  it('refuses a bare number or an unknown unit, naming the field', () => {
    expect(() => parseDuration('24', '--older-than')).toThrow('--older-than: must be a duration with a unit such as 90s, 15m, 1h or 7d (got "24")');
    expect(() => parseDuration('1w', '--since')).toThrow(/^--since: must be a duration/);
    expect(() => parseDuration('-1h')).toThrow(/duration: must be/);
  });
});
