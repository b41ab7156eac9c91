export * from './getResult.js';
export * from './resultStore.js';
