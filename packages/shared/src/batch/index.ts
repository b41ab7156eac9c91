export * from './batchStore.js';
export * from './workerSideUpload.js';
export * from './transcriptSource.js';
