export * from './batchStore.js';
export * from './workerSideUpload.js';
