import { makeGetResult, type GetResult } from '@obsq/shared';
import { abortUploads, listOpenUploads, type AbortOutcome } from '@obsq/storage';
import type { JobContext } from './jobContext.js';

/** Record body of one `abort-stale-uploads` run. */
export interface AbortStaleRecordBody {
  bucket: string;
  prefix: string;
  olderThanSeconds: number;
  /** Multipart uploads open under the prefix when listed. */
  open: number;
  /** Of those, the ones old enough to abort. */
  stale: number;
  aborted: number;
  /** Already completed or aborted between listing and abort. */
  gone: number;
  failed: number;
  /** One entry per upload that could not be aborted (at most 100). */
  failures: AbortOutcome[];
}

/**
 * Lists the multipart uploads open under a prefix and aborts those older than the payload's age.
 * Uploads that cannot be aborted are listed in the record; the job fails (and retries) only when
 * the listing itself fails.
 */
export async function abortStaleUploads(ctx: JobContext<'abort-stale-uploads'>): Promise<GetResult<AbortStaleRecordBody>> {
  const { data, storage, signal } = ctx;
  const scan = await listOpenUploads(storage, { bucket: data.bucket, prefix: data.prefix, olderThanMs: data.olderThanSeconds * 1000, signal });
  const outcomes = await abortUploads(storage, scan.stale, { signal });
  const count = (o: AbortOutcome['outcome']) => outcomes.filter((x) => x.outcome === o).length;
  const body: AbortStaleRecordBody = {
    bucket: data.bucket,
    prefix: data.prefix,
    olderThanSeconds: data.olderThanSeconds,
    open: scan.open,
    stale: scan.stale.length,
    aborted: count('aborted'),
    gone: count('gone'),
    failed: count('failed'),
    failures: outcomes.filter((o) => o.outcome === 'failed').slice(0, 100),
  };
  ctx.metrics.uploadsScanned(data.scheduleId ?? 'manual', scan.open, body);
  ctx.logger[body.failed > 0 ? 'warn' : 'info']({ open: body.open, stale: body.stale, aborted: body.aborted, failed: body.failed }, 'stale multipart uploads scanned');
  return makeGetResult({ status: 200, reason: 'OK', body });
}
