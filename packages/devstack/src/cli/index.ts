export * from './runDevstackCli.js';
