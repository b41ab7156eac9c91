export * from './s3Error.js';
