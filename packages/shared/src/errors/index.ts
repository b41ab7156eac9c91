export * from './errors.js';
export * from './capText.js';
export * from './backPressure.js';
