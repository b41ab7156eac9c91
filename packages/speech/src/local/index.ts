export * from './wer.js';
export * from './pocketsphinxOutput.js';
export * from './resample.js';
export * from './pocketsphinxEngine.js';
export * from './recognizer.js';
export * from './transcribePcm.js';
export * from './warmEngineDriver.js';
export * from './enginePool.js';
