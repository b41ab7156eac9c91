import { ValidationError, type ValidationIssue } from '../errors/index.js';
import { formatBytes } from './formatBytes.js';
import { intRangeIssues } from './intRange.js';
import { PART_NUMBER_MAX } from './partNumber.js';
import { DEFAULT_PART_SIZE, MAX_PART_SIZE } from './partSizes.js';

const MIB = 1024 * 1024;

/** Input of {@link planParts}. */
export interface PlanPartsOptions {
  /** Size of the whole source, in bytes. */
  size: number;
  /**
   * Part size asked for, in bytes. When absent it is chosen: 8 MiB, at least `minPartSize`, raised
   * (to a whole MiB) until the part count fits in `maxParts`.
   */
  partSize?: number;
  /** Smallest part the endpoint accepts, in bytes (see `ENDPOINT_FLAVOURS`). */
  minPartSize: number;
  /**
   * Most parts allowed.
   * @defaultValue 10000
   */
  maxParts?: number;
}

/** One part of a plan: a contiguous byte range of the source. */
export interface PlannedPart {
  /** 1-based part number. */
  partNumber: number;
  /** First byte of the part in the source. */
  offset: number;
  /** Length of the part in bytes; only the last part may be shorter than `partSize`. */
  size: number;
}

/** Result of {@link planParts}. */
export interface PartPlan {
  /** Size of every part but the last, in bytes. */
  partSize: number;
  /** Number of parts, 1 to `maxParts`; a 0-byte source has one 0-byte part. */
  partCount: number;
  parts: PlannedPart[];
}

function bytes(n: number): string {
  return `${n} bytes (${formatBytes(n)})`;
}

/**
 * Checks an explicit part size against the endpoint minimum, the 5 GiB maximum and the part-count
 * limit for a source of `size` bytes. Messages name `partSize` and the bound.
 */
export function partSizeIssues(options: Required<PlanPartsOptions>): ValidationIssue[] {
  const { size, partSize, minPartSize, maxParts } = options;
  const field = 'partSize';
  if (!Number.isSafeInteger(partSize) || partSize <= 0) {
    return [{ field, rule: `must be a positive integer number of bytes (got ${partSize})` }];
  }
  if (partSize < minPartSize) return [{ field, rule: `must be at least ${bytes(minPartSize)} for this endpoint (got ${partSize})` }];
  if (partSize > MAX_PART_SIZE) return [{ field, rule: `must be at most ${bytes(MAX_PART_SIZE)} (got ${partSize})` }];
  const count = Math.max(1, Math.ceil(size / partSize));
  if (count > maxParts) {
    const needed = Math.ceil(size / maxParts);
    return [
      {
        field,
        rule: `${partSize} bytes would split ${size} bytes into ${count} parts, more than the ${maxParts} allowed; use at least ${bytes(needed)}`,
      },
    ];
  }
  return [];
}

/**
 * Splits a source of `size` bytes into multipart-upload parts.
 *
 * @throws ValidationError naming `size`, `maxParts` or `partSize` and the bound that was broken
 */
export function planParts(options: PlanPartsOptions): PartPlan {
  const { size, minPartSize } = options;
  const maxParts = options.maxParts ?? PART_NUMBER_MAX;
  const issues = [
    ...(Number.isSafeInteger(size) && size >= 0 ? [] : [{ field: 'size', rule: `must be a non-negative integer number of bytes (got ${size})` }]),
    ...intRangeIssues(maxParts, 'maxParts', 1, PART_NUMBER_MAX),
    ...intRangeIssues(minPartSize, 'minPartSize', 1, MAX_PART_SIZE, 'bytes'),
  ];
  if (issues.length === 0 && size > maxParts * MAX_PART_SIZE) {
    issues.push({ field: 'size', rule: `must be at most ${bytes(maxParts * MAX_PART_SIZE)} (${maxParts} parts of ${formatBytes(MAX_PART_SIZE)}) (got ${size})` });
  }
  if (issues.length > 0) throw new ValidationError(issues);

  let partSize: number;
  if (options.partSize === undefined) {
    partSize = Math.max(DEFAULT_PART_SIZE, minPartSize);
    if (Math.ceil(size / partSize) > maxParts) {
      // ceil(size / maxParts) is the smallest size that fits; rounding it up to a whole MiB keeps
      // parts aligned and still fits, and never passes MAX_PART_SIZE (a MiB multiple) given the check above.
      partSize = Math.min(MAX_PART_SIZE, Math.ceil(Math.ceil(size / maxParts) / MIB) * MIB);
    }
  } else {
    partSize = options.partSize;
    const bad = partSizeIssues({ size, partSize, minPartSize, maxParts });
    if (bad.length > 0) throw new ValidationError(bad);
  }

  const partCount = Math.max(1, Math.ceil(size / partSize));
  const parts: PlannedPart[] = [];
  for (let i = 0; i < partCount; i += 1) {
    const offset = i * partSize;
    parts.push({ partNumber: i + 1, offset, size: Math.min(partSize, size - offset) });
  }
  return { partSize, partCount, parts };
}
