export * from './types.js';
export * from './encoding.js';
export * from './headerPrefix.js';
export * from './subResources.js';
export * from './signV2.js';
export * from './signV4.js';
export * from './parseAuthorization.js';
export * from './timingSafeEqualStr.js';
