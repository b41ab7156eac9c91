import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import { copyPlan } from './copyPlan.js';
import { planParts, type PartPlan } from './planParts.js';
import { ENDPOINT_FLAVOURS, MAX_PART_SIZE } from './partSizes.js';

const MiB = 1024 * 1024;
const obs = ENDPOINT_FLAVOURS.obs.minPartSize;
const s3 = ENDPOINT_FLAVOURS.s3.minPartSize;

/** The invariants every plan must hold, whatever the input. */
function expectCovers(plan: PartPlan, size: number, maxParts = 10_000): void {
  expect(plan.partCount).toBe(plan.parts.length);
  expect(plan.partCount).toBeGreaterThanOrEqual(1);
  expect(plan.partCount).toBeLessThanOrEqual(maxParts);
  let next = 0;
  plan.parts.forEach((p, i) => {
    expect(p.partNumber).toBe(i + 1);
    expect(p.offset).toBe(next);
    if (i < plan.parts.length - 1) expect(p.size).toBe(plan.partSize);
    else expect(p.size).toBeLessThanOrEqual(plan.partSize);
    next += p.size;
  });
  expect(next).toBe(size);
}

describe('planParts', () => {
  it('plans a 0-byte source as one 0-byte part', () => {
    const plan = planParts({ size: 0, minPartSize: s3 });
    expect(plan.parts).toEqual([{ partNumber: 1, offset: 0, size: 0 }]);
  });

  it('plans a source smaller than the minimum as one part', () => {
    const plan = planParts({ size: 1000, minPartSize: s3 });
    expect(plan.parts).toEqual([{ partNumber: 1, offset: 0, size: 1000 }]);
  });

  it('uses 8 MiB by default', () => {
    const plan = planParts({ size: 20 * MiB, minPartSize: obs });
    expect(plan.partSize).toBe(8 * MiB);
    expect(plan.parts.map((p) => p.size)).toEqual([8 * MiB, 8 * MiB, 4 * MiB]);
  });

  it('never goes below the minimum when that is above 8 MiB', () => {
    const plan = planParts({ size: 100 * MiB, minPartSize: 16 * MiB });
    expect(plan.partSize).toBe(16 * MiB);
  });

  it('keeps 8 MiB while 10000 parts suffice, exactly at the edge', () => {
    const size = 10_000 * 8 * MiB;
    const plan = planParts({ size, minPartSize: s3 });
    expect(plan.partSize).toBe(8 * MiB);
    expect(plan.partCount).toBe(10_000);
    expectCovers(plan, size);
  });

  it.each([1, 8 * MiB - 1, 8 * MiB + 1])('raises the part size at 10000 * 8 MiB + %d instead of planning 10001 parts', (r) => {
    const size = 10_000 * 8 * MiB + r;
    const plan = planParts({ size, minPartSize: s3 });
    expect(plan.partCount).toBeLessThanOrEqual(10_000);
    expect(plan.partSize % MiB).toBe(0);
    expectCovers(plan, size);
  });

  it('fits the largest possible source into 10000 parts of 5 GiB', () => {
    const size = 10_000 * MAX_PART_SIZE;
    const plan = planParts({ size, minPartSize: s3 });
    expect(plan.partSize).toBe(MAX_PART_SIZE);
    expect(plan.partCount).toBe(10_000);
  });

  it('honours a smaller maxParts', () => {
    const size = 100 * MiB + 1;
    const plan = planParts({ size, minPartSize: obs, maxParts: 10 });
    expectCovers(plan, size, 10);
    expect(plan.partCount).toBe(10);
  });

  it.each([
    [1, 'size', -1],
    [2, 'size', 1.5],
    [3, 'size', Number.NaN],
  ])('rejects bad sizes (%d)', (_n, field, size) => {
    expect(() => planParts({ size, minPartSize: obs })).toThrow(ValidationError);
    try {
      planParts({ size, minPartSize: obs });
    } catch (err) {
      expect((err as ValidationError).issues[0]?.field).toBe(field);
    }
  });

  it('rejects a bad maxParts', () => {
    expect(() => planParts({ size: 1, minPartSize: obs, maxParts: 10_001 })).toThrow(
      'maxParts: must be an integer from 1 to 10000 (got 10001)',
    );
  });

  it('holds its invariants over many sizes', () => {
    for (const size of [1, 99, obs, obs + 1, s3 - 1, s3, 8 * MiB, 8 * MiB + 1, 123_456_789, 80_000 * MiB + 12_345]) {
      for (const minPartSize of [obs, s3]) expectCovers(planParts({ size, minPartSize }), size);
    }
  });
});

describe('copyPlan', () => {
  it('copies in one request up to the threshold', () => {
    expect(copyPlan({ size: 10, threshold: 10, minPartSize: s3 })).toEqual({ mode: 'single' });
  });

  it('gives inclusive ranges for a multipart copy', () => {
    const plan = copyPlan({ size: 12 * MiB, threshold: 5 * MiB, partSize: 5 * MiB, minPartSize: s3 });
    expect(plan).toEqual({
      mode: 'multipart',
      partSize: 5 * MiB,
      partCount: 3,
      parts: [
        { partNumber: 1, start: 0, end: 5 * MiB - 1 },
        { partNumber: 2, start: 5 * MiB, end: 10 * MiB - 1 },
        { partNumber: 3, start: 10 * MiB, end: 12 * MiB - 1 },
      ],
    });
  });

  it('refuses a negative threshold', () => {
    expect(() => copyPlan({ size: 1, threshold: -1, minPartSize: s3 })).toThrow('threshold: must be an integer from 0 to');
  });
});
