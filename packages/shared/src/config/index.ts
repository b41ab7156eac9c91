export * from './envFields.js';
export * from './parseEnv.js';
export * from './obsConfig.js';
export * from './redisConfig.js';
export * from './sisConfig.js';
export * from './workerConfig.js';
export * from './producerConfig.js';
export * from './redactConfig.js';
