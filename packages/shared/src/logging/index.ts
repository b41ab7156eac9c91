export * from './createLogger.js';
export * from './jobLogger.js';
export * from './redactUrl.js';
export * from './redactDeep.js';
