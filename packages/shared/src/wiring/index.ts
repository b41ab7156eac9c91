export * from './obsClientFromConfig.js';
export * from './redisReady.js';
