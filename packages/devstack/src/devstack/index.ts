export * from './startDevstack.js';
