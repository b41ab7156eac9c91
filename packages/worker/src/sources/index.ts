export * from './pinnedFile.js';
export * from './fileSource.js';
export * from './urlSource.js';
export * from './partBuffers.js';
