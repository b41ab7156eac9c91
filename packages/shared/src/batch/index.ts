export * from './batchStore.js';
