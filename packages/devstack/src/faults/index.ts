export * from './faultSpec.js';
export * from './faultInjector.js';
export * from './prng.js';
