export * from './errors/index.js';
export * from './result/index.js';
export * from './validation/index.js';
export * from './catalog/index.js';
export * from './config/index.js';
export * from './logging/index.js';
export * from './redis/index.js';
export * from './lifecycle/index.js';
