import { ValidationError } from '../errors/index.js';
import { formatBytes } from './formatBytes.js';
import { planParts } from './planParts.js';

/** Largest object a single CopyObject request may produce, in bytes (5 GiB, seed §3). */
export const COPY_OBJECT_MAX_BYTES = 5 * 1024 ** 3;

/** Input of {@link copyPlan}. */
export interface CopyPlanOptions {
  /** Size of the source object, in bytes. */
  size: number;
  /** Largest source copied with one CopyObject, in bytes; at most 5 GiB. */
  threshold: number;
  /** Part size for a multipart copy, in bytes; chosen as in `planParts` when absent. */
  partSize?: number;
  /** Smallest part the endpoint accepts, in bytes. */
  minPartSize: number;
}

/** One UploadPartCopy: `start` and `end` are inclusive byte offsets (`x-amz-copy-source-range`). */
export interface CopyPart {
  partNumber: number;
  start: number;
  end: number;
}

/** How to copy an object: one CopyObject, or a multipart copy with these ranges. */
export type CopyPlan =
  | { mode: 'single' }
  | { mode: 'multipart'; partSize: number; partCount: number; parts: CopyPart[] };

/**
 * Chooses between a single CopyObject (source at most `threshold` bytes) and a multipart copy.
 * @throws ValidationError when `threshold` is out of range or the parts cannot be planned
 */
export function copyPlan(options: CopyPlanOptions): CopyPlan {
  const { size, threshold, partSize, minPartSize } = options;
  if (!Number.isSafeInteger(threshold) || threshold < 0 || threshold > COPY_OBJECT_MAX_BYTES) {
    throw new ValidationError([
      {
        field: 'threshold',
        rule: `must be an integer from 0 to ${COPY_OBJECT_MAX_BYTES} bytes (${formatBytes(COPY_OBJECT_MAX_BYTES)}) (got ${threshold})`,
      },
    ]);
  }
  if (Number.isSafeInteger(size) && size >= 0 && size <= threshold) return { mode: 'single' };
  const plan = planParts({ size, minPartSize, ...(partSize === undefined ? {} : { partSize }) });
  return {
    mode: 'multipart',
    partSize: plan.partSize,
    partCount: plan.partCount,
    parts: plan.parts.map((p) => ({ partNumber: p.partNumber, start: p.offset, end: p.offset + p.size - 1 })),
  };
}
