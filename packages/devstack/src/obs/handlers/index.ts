import type { StorageOperation } from '@obsq/storage';
import * as bucket from './bucketHandlers.js';
import type { Handler } from './handlerEnv.js';
import * as multipart from './multipartHandlers.js';
import * as object from './objectHandlers.js';

export * from './handlerEnv.js';
export { parseCompleteBody } from './multipartHandlers.js';
export { parseCopySource, evaluateConditions } from './objectHelpers.js';

/** Every routed operation's handler; a missing one fails to compile. */
export const HANDLERS: { [K in StorageOperation]: Handler } = {
  GetApiVersion: bucket.getApiVersion,
  ListBuckets: bucket.listBuckets,
  CreateBucket: bucket.createBucket,
  DeleteBucket: bucket.deleteBucket,
  HeadBucket: bucket.headBucket,
  GetBucketLocation: bucket.getBucketLocation,
  ListObjects: bucket.listObjects,
  ListObjectsV2: bucket.listObjectsV2,
  ListMultipartUploads: bucket.listMultipartUploads,
  PutObject: object.putObject,
  GetObject: object.getObject,
  HeadObject: object.headObject,
  DeleteObject: object.deleteObject,
  CopyObject: object.copyObject,
  InitiateMultipartUpload: multipart.initiateMultipartUpload,
  UploadPart: multipart.uploadPart,
  UploadPartCopy: multipart.uploadPartCopy,
  CompleteMultipartUpload: multipart.completeMultipartUpload,
  AbortMultipartUpload: multipart.abortMultipartUpload,
  ListParts: multipart.listParts,
};
