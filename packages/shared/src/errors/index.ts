export * from './errors.js';
export * from './backPressure.js';
