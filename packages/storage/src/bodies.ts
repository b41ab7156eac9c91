import type { Readable } from 'node:stream';

/*
 * Result bodies of each operation. Field names mirror the OBS Python SDK's, in camelCase
 * (obs-api.md §5.2); values are strings as sent unless noted.
 */

/** InitiateMultipartUpload. */
export interface InitiateMultipartUploadBody {
  bucket: string;
  key: string;
  uploadId: string;
}

/** UploadPart. */
export interface UploadPartBody {
  /** Quoted hex MD5 from the `ETag` header. */
  etag: string;
}

/** UploadPartCopy (SDK "copyPart"). */
export interface UploadPartCopyBody {
  lastModified: string;
  etag: string;
}

/** CompleteMultipartUpload. */
export interface CompleteMultipartUploadBody {
  location: string;
  bucket: string;
  key: string;
  etag: string;
  /** From `x-obs-version-id`/`x-amz-version-id`; '' when versioning is off. */
  versionId: string;
}

/** One uploaded part, as ListParts reports it. */
export interface ListedPart {
  partNumber: number;
  etag: string;
  /** Bytes. */
  size: number;
  lastModified: string;
}

/** ListParts (one page). */
export interface ListPartsBody {
  bucket: string;
  key: string;
  uploadId: string;
  parts: ListedPart[];
  isTruncated: boolean;
  partNumberMarker: number;
  nextPartNumberMarker: number;
  maxParts: number;
}

/** CopyObject. */
export interface CopyObjectBody {
  lastModified: string;
  etag: string;
  copySourceVersionId: string;
  versionId: string;
  /** `kms` when SSE-KMS (the `aws:` prefix of S3 is stripped). */
  sseKms: string;
  sseKmsKey: string;
  /** `AES256` when SSE-C. */
  sseC: string;
  sseCKeyMd5: string;
}

/** Object metadata from response headers (HeadObject, GetObject). */
export interface ObjectMetadataBody {
  /** Bytes (of the returned range for a ranged GetObject). */
  contentLength: number;
  contentType: string;
  etag: string;
  /** RFC 1123, as sent. */
  lastModified: string;
  versionId: string;
  storageClass: string;
  /** `x-obs-meta-*`/`x-amz-meta-*`, prefix stripped, values as sent (not URL-decoded). */
  metadata: Record<string, string>;
  /** `x-obs-uploadId` (OBS, objects made by multipart upload): compare after an ambiguous Complete. */
  uploadId?: string;
}

/** HeadObject. */
export type HeadObjectBody = ObjectMetadataBody;

/** GetObject: metadata plus the streamed content. */
export interface GetObjectBody extends ObjectMetadataBody {
  /** The object bytes; consume or destroy it, or the connection stays busy. */
  response: Readable;
  /** `Content-Range` for a ranged read, else ''. */
  contentRange: string;
}

/** HeadBucket. */
export interface HeadBucketBody {
  /** `x-obs-bucket-location` / `x-amz-bucket-region`, '' when not sent. */
  location: string;
  storageClass: string;
}

/** PutObject. */
export interface PutObjectBody {
  etag: string;
  versionId: string;
  storageClass: string;
}

/** DeleteObject. */
export interface DeleteObjectBody {
  deleteMarker: boolean;
  versionId: string;
}

/** One object in a listing. */
export interface ListedObject {
  key: string;
  lastModified: string;
  etag: string;
  /** Bytes. */
  size: number;
  storageClass: string;
}

/** ListObjects (V1, one page). */
export interface ListObjectsBody {
  name: string;
  prefix: string;
  marker: string;
  delimiter: string;
  maxKeys: number;
  isTruncated: boolean;
  /** Marker for the next page: `NextMarker`, else the last key of this page. */
  nextMarker: string;
  contents: ListedObject[];
  commonPrefixes: Array<{ prefix: string }>;
}

/** One multipart upload in progress, as ListMultipartUploads lists it. */
export interface ListedUpload {
  key: string;
  uploadId: string;
  /** ISO 8601 time the upload was initiated. */
  initiated: string;
  storageClass: string;
}

/** ListMultipartUploads (one page). */
export interface ListMultipartUploadsBody {
  bucket: string;
  prefix: string;
  keyMarker: string;
  uploadIdMarker: string;
  /** Markers for the next page ('' when not truncated). */
  nextKeyMarker: string;
  nextUploadIdMarker: string;
  maxUploads: number;
  isTruncated: boolean;
  uploads: ListedUpload[];
}
