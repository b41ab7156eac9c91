export * from './producer.js';
export type { EnqueueUploadInput, EnqueuedUpload } from './uploads/enqueueUpload.js';
export type { UploadSource } from './sources/probeSource.js';
export type { EnqueueCopyInput, EnqueuedCopy } from './copies/enqueueCopy.js';
export * from './transcriptions/index.js';
export type { EnqueueBatchInput, EnqueuedBatch, BatchEnqueueProgress, SkipExisting } from './batches/enqueueBatch.js';
export { MD5_METADATA } from './batches/enqueueBatch.js';
export { globToRegExp, PathFilter } from './batches/globFilter.js';
export { openManifest } from './batches/batchItems.js';
