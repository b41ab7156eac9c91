export * from './audioFormats.js';
export * from './errorCodes.js';
export * from './serverMessages.js';
export * from './clientCommands.js';
export * from './sdkHmacCanonical.js';
export * from './sdkHmacSigner.js';
export * from './verifySdkHmac.js';
