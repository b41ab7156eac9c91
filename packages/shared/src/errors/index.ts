export * from './errors.js';
export * from './capText.js';
