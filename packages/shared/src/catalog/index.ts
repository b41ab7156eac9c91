export * from './jobCatalog.js';
export * from './parsePayload.js';
export * from './queues.js';
export * from './backoff.js';
export * from './zodIssues.js';
export * from './fields.js';
export * from './filePin.js';
export * from './apiInputs.js';
