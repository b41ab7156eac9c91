export * from './benchStack.js';
export * from './procStatus.js';
export * from './randomFile.js';
export * from './report.js';
export * from './testDeps.js';
export * from './cpuProfile.js';
