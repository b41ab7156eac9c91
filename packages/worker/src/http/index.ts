export * from './metricsServer.js';
