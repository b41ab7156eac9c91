export * from './audioFormat.js';
export * from './audioRange.js';
export * from './formatMismatch.js';
export * from './g711.js';
export * from './openAudio.js';
export * from './prepareAudio.js';
export * from './sox.js';
export * from './wav.js';
