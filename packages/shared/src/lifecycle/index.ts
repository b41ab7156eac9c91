export * from './lifecycle.js';
export * from './withDeadline.js';
