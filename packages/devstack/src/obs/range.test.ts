import { describe, expect, it } from 'vitest';
import { parseCopySourceRange, parseRange } from './range.js';

describe('parseRange', () => {
  it.each([
    ['bytes=0-9', { start: 0, end: 9 }],
    ['bytes=10-', { start: 10, end: 99 }],
    ['bytes=-10', { start: 90, end: 99 }],
    ['bytes=-500', { start: 0, end: 99 }],
    ['bytes=50-500', { start: 50, end: 99 }],
    ['bytes=99-99', { start: 99, end: 99 }],
  ])('%s of 100 bytes', (header, range) => {
    expect(parseRange(header, 100)).toEqual(range);
  });

  it.each(['bytes=5-1', 'bytes=0-1,3-4', 'items=0-1', 'bytes=-', 'bytes=a-b'])('ignores %s (whole object)', (header) => {
    expect(parseRange(header, 100)).toBeUndefined();
  });

  it.each([
    ['bytes=100-', 100],
    ['bytes=100-200', 100],
    ['bytes=-0', 100],
    ['bytes=0-', 0],
    ['bytes=-1', 0],
  ])('refuses %s of %d bytes with InvalidRange', (header, size) => {
    expect(() => parseRange(header, size)).toThrow(expect.objectContaining({ s3Code: 'InvalidRange', status: 416 }));
  });
});

describe('parseCopySourceRange', () => {
  it('accepts bytes=first-last inside the source', () => {
    expect(parseCopySourceRange('bytes=0-99', 100)).toEqual({ start: 0, end: 99 });
  });
  it.each(['0-9', 'bytes=5-', 'bytes=-5', 'bytes=9-0'])('refuses %s as InvalidArgument', (h) => {
    expect(() => parseCopySourceRange(h, 100)).toThrow(expect.objectContaining({ s3Code: 'InvalidArgument' }));
  });
  it('refuses a range past the end as InvalidRange', () => {
    expect(() => parseCopySourceRange('bytes=0-100', 100)).toThrow(expect.objectContaining({ s3Code: 'InvalidRange' }));
  });
});
