import { ObsqError, type GetResult } from '@obsq/shared';
import type { JobContext } from './jobContext.js';

/** Server-side copy: one CopyObject, or one UploadPartCopy range of a multipart copy. */
export async function copyObject(ctx: JobContext<'copy-object'>): Promise<GetResult> {
  throw new ObsqError('OBSQ_INTERNAL', `copy-object is not implemented yet (job ${ctx.job.id})`, { permanent: true });
}
