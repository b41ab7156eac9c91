import { describe, expect, it } from 'vitest';
import { FaultInjector } from './faultInjector.js';
import { Prng, deriveSeed } from './prng.js';

describe('Prng', () => {
  it('repeats the same sequence for the same seed and differs for another', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const sa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(sa);
    expect(sa.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('derives different streams per name', () => {
    expect(deriveSeed(1, 'UploadPart')).not.toBe(deriveSeed(1, 'CopyObject'));
    expect(deriveSeed(1, 'UploadPart')).toBe(deriveSeed(1, 'UploadPart'));
  });
});

describe('FaultInjector', () => {
  const pattern = (inj: FaultInjector, op: string, n: number) =>
    Array.from({ length: n }, () => (inj.decide(op).error ? 'E' : '.')).join('');

  it('is deterministic for a seed and independent of other operations in between', () => {
    const spec = [{ op: 'UploadPart', rate: 0.5, error: { status: 503, code: 'SlowDown' } }];
    const a = new FaultInjector(spec, 7);
    const b = new FaultInjector(spec, 7);
    const first = pattern(a, 'UploadPart', 40);
    const interleaved = Array.from({ length: 40 }, () => {
      b.decide('CompleteMultipartUpload');
      return b.decide('UploadPart').error ? 'E' : '.';
    }).join('');
    expect(interleaved).toBe(first);
    expect(first).toMatch(/E/);
    expect(first).toMatch(/\./);
    expect(pattern(new FaultInjector(spec, 8), 'UploadPart', 40)).not.toBe(first);
  });

  it('honours times, sums latency, lets the first error/reset win and counts everything', () => {
    const inj = new FaultInjector([
      { op: '*', latencyMs: 5 },
      { op: 'UploadPart', times: 1, reset: { afterBytes: 10 } },
      { op: 'UploadPart', times: 2, latencyMs: 7, error: { status: 500, code: 'InternalError' } },
    ]);
    expect(inj.decide('UploadPart')).toEqual({ latencyMs: 12, resetAfterBytes: 10 });
    expect(inj.decide('UploadPart')).toEqual({ latencyMs: 12, error: { status: 500, code: 'InternalError' } });
    expect(inj.decide('UploadPart')).toEqual({ latencyMs: 5 });
    expect(inj.decide('ListParts')).toEqual({ latencyMs: 5 });
    expect(inj.stats()).toEqual({
      ListParts: { requests: 1, faults: { error: 0, latency: 1, reset: 0, tamper: 0 } },
      UploadPart: { requests: 3, faults: { error: 1, latency: 5, reset: 1, tamper: 0 } },
    });
    inj.resetStats();
    expect(inj.stats()).toEqual({});
  });

  it('rejects bad specs with a ValidationError naming the field', () => {
    const inj = new FaultInjector();
    expect(() => inj.set([{ op: 'UploadPart', rate: 2, latencyMs: 1 }])).toThrow(/faults\.0\.rate/);
    expect(() => inj.set([{ op: 'UploadPart' }])).toThrow(/at least one of/);
    expect(() => inj.set([{ op: 'X', error: { status: 503, code: 'SlowDown' }, reset: {} }])).toThrow(/at most one of/);
  });
});
