import { ObsqError, type GetResult } from '@obsq/shared';
import type { JobContext } from './jobContext.js';

/** Transcribes one audio file through SIS or the local engine and writes the transcript outputs. */
export async function transcribeAudioFile(ctx: JobContext<'transcribe-audio-file'>): Promise<GetResult> {
  throw new ObsqError('OBSQ_INTERNAL', `transcribe-audio-file is not implemented yet (job ${ctx.job.id})`, { permanent: true });
}
