export * from './urlPolicy.js';
export * from './urlClient.js';
