import { describe, expect, it } from 'vitest';
import { formatBytes } from './formatBytes.js';
import { parseSize } from './parseSize.js';

describe('parseSize', () => {
  it.each([
    ['1048576', 1_048_576],
    ['0', 0],
    ['8MiB', 8 * 1024 ** 2],
    ['100KiB', 100 * 1024],
    ['100 kib', 100 * 1024],
    ['5GB', 5e9],
    ['5gb', 5e9],
    ['5GiB', 5 * 1024 ** 3],
    ['1.5GiB', 1.5 * 1024 ** 3],
    ['1.1KB', 1100],
    ['2TiB', 2 * 1024 ** 4],
    ['3MB', 3e6],
    ['7b', 7],
    ['  42  ', 42],
  ])('%j is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each([
    ['', 'size: must be a byte size such as 1048576, 100KiB, 8MiB or 5GB (got "")'],
    ['abc', 'size: must be a byte size such as 1048576, 100KiB, 8MiB or 5GB (got "abc")'],
    ['-1', 'size: must be a byte size such as 1048576, 100KiB, 8MiB or 5GB (got "-1")'],
    ['8 M', 'size: has an unknown unit "M"; use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB (got "8 M")'],
    ['1.5B', 'size: must be a whole number of bytes (got "1.5B")'],
    ['1.0001KiB', 'size: must be a whole number of bytes (got "1.0001KiB")'],
    ['99999999TiB', 'size: is too large (got "99999999TiB")'],
  ])('rejects %j', (text, message) => {
    expect(() => parseSize(text)).toThrow(message);
  });

  it('names the field it is given', () => {
    expect(() => parseSize('x', 'OBSQ_OBS_MIN_PART_SIZE')).toThrow(/^OBSQ_OBS_MIN_PART_SIZE: /);
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [100 * 1024, '100 KiB'],
    [1536, '1.5 KiB'],
    [8 * 1024 ** 2, '8 MiB'],
    [5 * 1024 ** 3, '5 GiB'],
    [5 * 1024 ** 3 + 1, '5 GiB'],
    [1.25 * 1024 ** 4, '1.25 TiB'],
  ])('%d → %s', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });
});
