export * from './metrics/index.js';
export * from './http/index.js';
export * from './service/workerService.js';
export * from './main.js';
export { jobHandlers } from './jobs/index.js';
export { multipartEtag } from './jobs/index.js';
export { scheduledTranscriptionJobId, type ScanEnqueued, type ScanFailed, type ScanRecordBody, type TranscriptOutput, type TranscriptRecordBody, type AbortStaleRecordBody } from './jobs/index.js';
