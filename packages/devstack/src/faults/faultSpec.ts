import { z } from 'zod';

/**
 * One fault rule. Each request whose operation matches rolls the rule's own seeded PRNG stream;
 * when the roll is below `rate` (and `times` is not used up) the rule fires:
 * latency is added first, then the request is either answered with `error`, cut by `reset`,
 * served with its data `tamper`ed, or (latency only) served normally. When several rules fire for
 * one request, latencies add up and the first rule with `error`, `reset` or `tamper` decides the
 * outcome.
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
    /**
     * Answer with the status only: an empty body and no error code, as a load balancer or proxy
     * in front of the store does (`code` is then only used in the devstack's counters and logs).
     * @defaultValue false
     */
    bare?: boolean;
  };
  /**
   * Destroy the socket after reading `afterBytes` bytes of the request body (or at once when the
   * body is shorter or absent), without sending any response.
   */
  reset?: {
    /** @defaultValue 0 */
    afterBytes?: number;
  };
  /**
   * Serve the request but break the data it carries, so a test can see an integrity check fire:
   * - `wrong-etag`: the operation runs normally but answers with an ETag that is not the stored
   *   object's or part's (UploadPart, PutObject, CompleteMultipartUpload, UploadPartCopy, CopyObject;
   *   a multipart ETag keeps its `-N` form).
   * - `corrupt-body`: one byte of the request body is flipped as it arrives, before the server
   *   checks Content-MD5 and stores it (UploadPart, PutObject): corruption in transit.
   * - `drop-response`: the operation runs and its effect is stored, but the answer is lost (the
   *   connection is cut instead): the client cannot know it succeeded.
   */
  tamper?: FaultTamper;
}

/** Kinds of {@link FaultSpec.tamper}. */
export type FaultTamper = 'wrong-etag' | 'corrupt-body' | 'drop-response';

/** Every {@link FaultTamper}, for schemas and docs. */
export const FAULT_TAMPERS = ['wrong-etag', 'corrupt-body', 'drop-response'] as const satisfies readonly FaultTamper[];

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
        bare: z.boolean().optional(),
      })
      .optional(),
    reset: z.object({ afterBytes: z.number().int().nonnegative().optional() }).optional(),
    tamper: z.enum(FAULT_TAMPERS).optional(),
  })
  .strict()
  .refine((f) => [f.error, f.reset, f.tamper].filter((x) => x !== undefined).length <= 1, {
    message: 'a fault has at most one of error, reset, tamper',
  })
  .refine((f) => f.error || f.reset || f.tamper || f.latencyMs !== undefined, {
    message: 'a fault needs at least one of error, reset, tamper, latencyMs',
  });
