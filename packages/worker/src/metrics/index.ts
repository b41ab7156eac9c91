export * from './metricLabels.js';
export * from './queueDepthReader.js';
export * from './workerMetrics.js';
// Re-exported so callers build the Registry they inject without their own prom-client copy.
export { Registry } from 'prom-client';
