export * from './scheduleState.js';
