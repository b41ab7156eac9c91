import { z } from 'zod';

/**
 * One fault rule. Each request whose operation matches rolls the rule's own seeded PRNG stream;
 * when the roll is below `rate` (and `times` is not used up) the rule fires:
 * latency is added first, then the request is either answered with `error`, cut by `reset`, or
 * (latency only) served normally. When several rules fire for one request, latencies add up and
 * the first rule with `error` or `reset` decides the outcome.
 */
export interface FaultSpec {
  /** Operation name (`UploadPart`, `CompleteMultipartUpload`, `UploadPartCopy`, ...) or `*` for all. */
  op: string;
  /**
   * Probability in [0, 1] that a matching request is hit.
   * @defaultValue 1
   */
  rate?: number;
  /**
   * Fire at most this many times, then stay inert.
   * @defaultValue unlimited
   */
  times?: number;
  /** Delay in milliseconds before the request is handled. */
  latencyMs?: number;
  /** Answer with this error instead of running the operation (the request body is drained first). */
  error?: {
    /** HTTP status, e.g. 503. */
    status: number;
    /** Error code, e.g. `SlowDown`, `InternalError`. */
    code: string;
    /** @defaultValue a generic message for the code */
    message?: string;
  };
  /**
   * Destroy the socket after reading `afterBytes` bytes of the request body (or at once when the
   * body is shorter or absent), without sending any response.
   */
  reset?: {
    /** @defaultValue 0 */
    afterBytes?: number;
  };
}

/** Schema of {@link FaultSpec}, used for the admin API and for `startDevstack` options. */
export const faultSpecSchema = z
  .object({
    op: z.string().min(1),
    rate: z.number().min(0).max(1).optional(),
    times: z.number().int().nonnegative().optional(),
    latencyMs: z.number().int().nonnegative().max(600_000).optional(),
    error: z
      .object({
        status: z.number().int().min(300).max(599),
        code: z.string().min(1),
        message: z.string().optional(),
      })
      .optional(),
    reset: z.object({ afterBytes: z.number().int().nonnegative().optional() }).optional(),
  })
  .strict()
  .refine((f) => !(f.error && f.reset), { message: 'a fault has either error or reset, not both' })
  .refine((f) => f.error || f.reset || f.latencyMs !== undefined, {
    message: 'a fault needs at least one of error, reset, latencyMs',
  });
