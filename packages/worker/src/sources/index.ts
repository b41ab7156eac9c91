export * from './fileSource.js';
export * from './urlSource.js';
