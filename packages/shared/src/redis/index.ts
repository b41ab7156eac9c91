export * from './createRedis.js';
