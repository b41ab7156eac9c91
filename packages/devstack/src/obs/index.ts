export * from './obsServer.js';
export * from './router.js';
export * from './range.js';
export * from './awsChunked.js';
export * from './verifyAuth.js';
export * from './addressing.js';
export { ADMIN_PREFIX, settingsPatchSchema } from './admin.js';
export type { ObsSettings } from './handlers/index.js';
