import { describe, expect, it } from 'vitest';
import { PartBufferPool } from './partBuffers.js';

describe('PartBufferPool (issue 12)', () => {
  it('hands a returned buffer out again for the same size, and a new one for another size', () => {
    const pool = new PartBufferPool(1024);
    const a = pool.take(100);
    expect(a.length).toBe(100);
    pool.give(a);
    expect(pool.take(100)).toBe(a);
    pool.give(a);
    const b = pool.take(200);
    expect(b).not.toBe(a);
    expect(b.length).toBe(200);
  });

  it('keeps at most maxIdleBytes idle: a buffer beyond that is dropped', () => {
    const pool = new PartBufferPool(250);
    const [a, b, c] = [pool.take(100), pool.take(100), pool.take(100)];
    pool.give(a);
    pool.give(b);
    pool.give(c); // 300 > 250: dropped
    const again = [pool.take(100), pool.take(100), pool.take(100)];
    expect(again.filter((x) => x === a || x === b)).toHaveLength(2);
    expect(again).not.toContain(c);
  });
});
