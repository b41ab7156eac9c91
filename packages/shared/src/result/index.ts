export * from './getResult.js';
