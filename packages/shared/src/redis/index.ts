export * from './createRedis.js';
export * from './redisReady.js';
