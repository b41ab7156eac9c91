export * from './enqueueTranscription.js';
export * from './schedules.js';
