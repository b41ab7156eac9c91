/**
 * Every S3/OBS API action obsq knows by name: the operation {@link ObsClient} labels each request
 * with, the operations devstack routes to, and the allowed values of the `operation` metric label.
 * One list, so the three cannot drift apart.
 */
export const STORAGE_OPERATIONS = [
  'GetApiVersion',
  'ListBuckets',
  'CreateBucket',
  'DeleteBucket',
  'HeadBucket',
  'GetBucketLocation',
  'ListObjects',
  'ListObjectsV2',
  'ListMultipartUploads',
  'PutObject',
  'GetObject',
  'HeadObject',
  'DeleteObject',
  'CopyObject',
  'InitiateMultipartUpload',
  'UploadPart',
  'UploadPartCopy',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'ListParts',
] as const;

/** One of {@link STORAGE_OPERATIONS}. */
export type StorageOperation = (typeof STORAGE_OPERATIONS)[number];
