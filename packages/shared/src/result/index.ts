export * from './getResult.js';
export * from './resultStore.js';
export * from './cancelFlag.js';
