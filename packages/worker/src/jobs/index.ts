import { abortUpload, completeMultipart } from './completeMultipart.js';
import type { JobHandlers } from './jobContext.js';
import { putObject } from './putObject.js';
import { uploadPart } from './uploadPart.js';
import { copyObject } from './copyObject.js';
import { transcribeAudioFile } from './transcribeAudioFile.js';
import { scanTranscriptions } from './scanTranscriptions.js';
import { abortStaleUploads } from './abortStaleUploads.js';

export type * from './jobContext.js';
export { multipartEtag, PartFailedError } from './completeMultipart.js';
export { scheduledTranscriptionJobId, type ScanRecordBody, type ScanEnqueued, type ScanFailed } from './scanTranscriptions.js';
export type { PutObjectRecordBody } from './putObject.js';
export type { AbortStaleRecordBody } from './abortStaleUploads.js';
export type { TranscriptOutput, TranscriptRecordBody } from './transcribeAudioFile.js';

/** Where each job type lives: the worker runs exactly these, one BullMQ queue per name. */
export const jobHandlers: JobHandlers = {
  'put-object': { run: putObject },
  'upload-part': { run: uploadPart },
  'complete-multipart': { run: completeMultipart, onFinalFailure: abortUpload },
  'copy-object': { run: copyObject },
  'transcribe-audio-file': { run: transcribeAudioFile },
  'scan-transcriptions': { run: scanTranscriptions },
  'abort-stale-uploads': { run: abortStaleUploads },
};
