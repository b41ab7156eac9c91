/** Standard headers stored with an object and returned on GET/HEAD. */
export type StoredHeaderName =
  | 'cache-control'
  | 'content-disposition'
  | 'content-encoding'
  | 'content-language'
  | 'expires'
  | 'website-redirect-location';

/** Attributes set on PUT / Initiate / Copy-with-REPLACE and copied onto the final object. */
export interface ObjectAttributes {
  /** @defaultValue `binary/octet-stream` */
  contentType: string;
  /** User metadata, names lower-cased without the `x-obs-meta-` / `x-amz-meta-` prefix. */
  metadata: Record<string, string>;
  /** Standard headers stored verbatim. */
  headers: Partial<Record<StoredHeaderName, string>>;
  /** `STANDARD` unless the client asked otherwise (stored as given, not interpreted). */
  storageClass: string;
}

/** Everything the store knows about one object; persisted as JSON beside the data file. */
export interface ObjectMeta extends ObjectAttributes {
  bucket: string;
  key: string;
  /** Size in bytes. */
  size: number;
  /** Unquoted ETag: MD5 hex for a single PUT/copy, `md5-of-md5s-N` for multipart. */
  etag: string;
  /** ISO-8601 time of the last write. */
  lastModified: string;
  /** Random id assigned on every write; `?versionId=` must match it (or be `null`). */
  versionId: string;
  /** Upload id when the object was made by CompleteMultipartUpload (OBS `x-obs-uploadId`). */
  uploadId?: string;
  /** Data file name inside the bucket's object directory. */
  dataFile: string;
}

/** One uploaded part. */
export interface PartMeta {
  partNumber: number;
  /** Unquoted MD5 hex. */
  etag: string;
  /** Size in bytes. */
  size: number;
  /** ISO-8601. */
  lastModified: string;
  /** Data file name inside the upload's directory. */
  dataFile: string;
}

/** A multipart upload in progress. */
export interface UploadMeta {
  uploadId: string;
  bucket: string;
  key: string;
  /** ISO-8601. */
  initiated: string;
  attributes: ObjectAttributes;
}

/** A bucket. */
export interface BucketMeta {
  name: string;
  /** ISO-8601. */
  created: string;
}

/** An inclusive byte range already checked against the object size. */
export interface ByteRange {
  start: number;
  end: number;
}
