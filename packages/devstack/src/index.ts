export * from './devstack/index.js';
export * from './cli/index.js';
export * from './faults/index.js';
export * from './errors/index.js';
export { FileStore } from './storage/index.js';
export type { ObjectMeta, PartMeta, UploadMeta, ObjectAttributes } from './storage/index.js';
export { ADMIN_PREFIX, type ObsSettings } from './obs/index.js';
export * from './redis/index.js';
export * from './sis/index.js';
