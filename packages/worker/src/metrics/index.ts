export * from './metricLabels.js';
export * from './queueDepthReader.js';
export * from './workerMetrics.js';
