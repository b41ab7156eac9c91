export * from './sisServerOptions.js';
export * from './handshake.js';
export * from './startSisServer.js';
