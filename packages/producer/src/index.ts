export * from './producer.js';
export type { EnqueueUploadInput, EnqueuedUpload } from './uploads/enqueueUpload.js';
export type { UploadSource } from './sources/probeSource.js';
export type { EnqueueCopyInput, EnqueuedCopy } from './copies/enqueueCopy.js';
export * from './transcriptions/index.js';
export * from './admin/index.js';
