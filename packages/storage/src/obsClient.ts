import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, type Dispatcher } from 'undici';
import { ObsqError, ValidationError, coerceError, makeGetResult, type GetResult, type ValidationIssue } from '@obsq/shared';
import type {
  CompleteMultipartUploadBody,
  CopyObjectBody,
  DeleteObjectBody,
  GetObjectBody,
  HeadBucketBody,
  HeadObjectBody,
  InitiateMultipartUploadBody,
  ListedObject,
  ListedUpload,
  ListMultipartUploadsBody,
  ListedPart,
  ListObjectsBody,
  ListPartsBody,
  ObjectMetadataBody,
  PutObjectBody,
  UploadPartBody,
  UploadPartCopyBody,
} from './bodies.js';
import { inMemoryMd5, prepareBody, type BodyInput, type PreparedBody } from './bodySource.js';
import { buildResult, firstHeader, isFailedResult, noResponseResult, type ResponseHeaders } from './buildResult.js';
import type { StorageOperation } from './operations.js';
import { OBS_CLIENT_DEFAULTS, type ObsClientOptions, type StorageRequestEvent } from './obsClientOptions.js';
import { backoffDelay, classifyFailure, retryAfterMsOf, type BackoffOptions } from './retry.js';
import {
  authorizationV2,
  encodeKey,
  formatAmzDate,
  formatQuery,
  headerPrefix,
  presignV2,
  presignV4,
  signV2,
  signV4,
  type Credentials,
  type SignatureMode,
} from './signing/index.js';
import { StorageError } from './storageError.js';
import { completeMultipartXml, escapeXml, parseXml, xmlChildren, xmlText, type CompletedPart, type XmlNode } from './xml.js';

/** Options every call accepts. */
export interface CallOptions {
  /** Cancels the call (and its retries); the call then rejects with `OBSQ_ABORTED`. */
  signal?: AbortSignal;
}

/** Conditions on the copy source (412 PreconditionFailed when not met). */
export interface CopySourceConditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  /** Date or RFC 1123 string. */
  ifModifiedSince?: Date | string;
  ifUnmodifiedSince?: Date | string;
}

/** Where to copy from. */
export interface CopySource extends CopySourceConditions {
  sourceBucket: string;
  sourceKey: string;
  sourceVersionId?: string;
}

/** Inclusive byte range; `end` omitted means "to the end" (GetObject only). */
export interface ByteRange {
  start: number;
  end?: number;
}

/** Parameters of `createSignedUrl`. */
export interface SignedUrlRequest {
  /** GET, PUT, POST, DELETE or HEAD. */
  method: string;
  bucket?: string;
  key?: string;
  /** Validity in seconds. @defaultValue 300 */
  expires?: number;
  /** Bare sub-resource (`uploads`, `acl`...). */
  specialParam?: string;
  /** Headers the URL's user must send unchanged (they are signed), e.g. Content-Type. */
  headers?: Record<string, string>;
  queryParams?: Record<string, string | number>;
}

/** A presigned URL and the headers its user must send with it. */
export interface SignedUrl {
  signedUrl: string;
  actualSignedRequestHeaders: Record<string, string>;
}

interface Call<B> {
  operation: StorageOperation;
  method: string;
  bucket?: string;
  key?: string;
  query?: Array<[string, string | null]>;
  headers?: Record<string, string>;
  body?: PreparedBody;
  signal?: AbortSignal | undefined;
  /** Hand the response stream to `parse` instead of reading it. */
  stream?: boolean;
  /** Maps a successful response to the body; returning an Error marks the 2xx as a failure. */
  parse: (res: { status: number; headers: ResponseHeaders; text: string; stream?: Readable }) => B | Error;
  fallbackCode?: string;
}

interface Target {
  origin: string;
  host: string;
  path: string;
  virtualHostBucket?: string;
}

const PATH_STYLE_HOSTS = new Set(['localhost']);

/**
 * Object-storage client for Huawei OBS and S3-compatible servers, on undici.
 *
 * Every call returns the OBS SDK's GetResult record on success and throws a `StorageError`
 * (carrying the last attempt's record as `err.result`) on failure, after retrying transport
 * faults and retryable statuses (see `STORAGE_RETRY_RULES`) when the body can be replayed.
 * Date and signature are recomputed on every attempt.
 */
export class ObsClient {
  private readonly endpoint: URL;
  private readonly signature: SignatureMode;
  private readonly flavour: 'obs' | 's3';
  private readonly pathStyle: boolean;
  private readonly region: string;
  private readonly maxAttempts: number;
  private readonly timeoutMs: number;
  private readonly backoff: BackoffOptions;
  private readonly userAgent: string;
  private readonly connectAddress: string | undefined;
  private readonly credentials: () => Credentials;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly onRequest: ObsClientOptions['onRequest'];
  private readonly logger: ObsClientOptions['logger'];
  private readonly prefix: 'x-obs-' | 'x-amz-';
  private closing: Promise<void> | undefined;

  constructor(options: ObsClientOptions) {
    const opts = { ...OBS_CLIENT_DEFAULTS, ...options };
    const issues: ValidationIssue[] = [];
    let endpoint: URL | undefined;
    try {
      endpoint = new URL(opts.endpoint);
      if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') issues.push({ field: 'endpoint', rule: 'must be an http:// or https:// URL' });
      if (endpoint.pathname !== '/' || endpoint.search !== '' || endpoint.username !== '') {
        issues.push({ field: 'endpoint', rule: 'must have no path, query or user info' });
      }
    } catch {
      issues.push({ field: 'endpoint', rule: 'must be an http:// or https:// URL' });
    }
    if (!['obs', 'v2', 'v4'].includes(opts.signature)) issues.push({ field: 'signature', rule: "must be 'obs', 'v2' or 'v4'" });
    const flavour = opts.flavour ?? (opts.signature === 'obs' ? 'obs' : 's3');
    if (flavour !== 'obs' && flavour !== 's3') issues.push({ field: 'flavour', rule: "must be 'obs' or 's3'" });
    if (opts.signature === 'obs' && flavour !== 'obs') issues.push({ field: 'flavour', rule: "must be 'obs' with signature 'obs'" });
    if (typeof opts.region !== 'string' || opts.region === '') issues.push({ field: 'region', rule: 'must be a non-empty string' });
    for (const [field, value, min] of [
      ['maxAttempts', opts.maxAttempts, 1],
      ['timeoutMs', opts.timeoutMs, 1],
      ['connectTimeoutMs', opts.connectTimeoutMs, 1],
      ['connections', opts.connections, 1],
      ['keepAliveTimeoutMs', opts.keepAliveTimeoutMs, 1],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < min) issues.push({ field, rule: 'must be a positive integer' });
    }
    const creds = opts.credentials;
    if (typeof creds !== 'function' && (typeof creds?.accessKeyId !== 'string' || creds.accessKeyId === '' || typeof creds.secretAccessKey !== 'string' || creds.secretAccessKey === '')) {
      issues.push({ field: 'credentials', rule: 'must have a non-empty accessKeyId and secretAccessKey, or be a function returning them' });
    }
    const forcedPathStyle = endpoint !== undefined && (isIP(endpoint.hostname.replace(/^\[|\]$/g, '')) !== 0 || PATH_STYLE_HOSTS.has(endpoint.hostname));
    const pathStyle = opts.pathStyle || forcedPathStyle;
    if (opts.signature === 'obs' && pathStyle) {
      issues.push({
        field: 'signature',
        rule: `'obs' needs virtual-hosted addressing, but pathStyle is ${opts.pathStyle ? 'true' : 'forced by the IP/localhost endpoint'}; use 'v2' or 'v4', or a hostname endpoint (e.g. http://obs.localhost:PORT)`,
      });
    }
    if (issues.length > 0 || endpoint === undefined) throw new ValidationError(issues);

    this.endpoint = endpoint;
    this.signature = opts.signature;
    this.flavour = flavour;
    this.pathStyle = pathStyle;
    this.region = opts.region;
    this.maxAttempts = opts.maxAttempts;
    this.timeoutMs = opts.timeoutMs;
    this.backoff = { ...OBS_CLIENT_DEFAULTS.retryBackoff, ...opts.retryBackoff };
    this.userAgent = opts.userAgent;
    this.connectAddress = opts.connectAddress ?? (endpoint.hostname.endsWith('.localhost') ? '127.0.0.1' : undefined);
    this.credentials = typeof creds === 'function' ? creds : () => creds;
    this.onRequest = opts.onRequest;
    this.logger = opts.logger;
    this.prefix = headerPrefix(this.signature);
    if (opts.dispatcher) {
      this.dispatcher = opts.dispatcher;
      this.ownsDispatcher = false;
    } else {
      this.dispatcher = new Agent({
        connections: opts.connections,
        keepAliveTimeout: opts.keepAliveTimeoutMs,
        connect: { timeout: opts.connectTimeoutMs, ...(opts.lookup ? { lookup: opts.lookup } : {}) },
      });
      this.ownsDispatcher = true;
    }
  }

  // ---------------------------------------------------------------- multipart

  /** `POST /key?uploads`. Headers given here are applied to the final object at Complete. */
  initiateMultipartUpload(
    p: { bucket: string; key: string; contentType?: string; metadata?: Record<string, string>; storageClass?: string; acl?: string } & CallOptions,
  ): Promise<GetResult<InitiateMultipartUploadBody>> {
    this.check([...bucketIssues(p.bucket), ...keyIssues(p.key)]);
    return this.send({
      operation: 'InitiateMultipartUpload',
      method: 'POST',
      bucket: p.bucket,
      key: p.key,
      query: [['uploads', null]],
      headers: this.objectHeaders(p),
      signal: p.signal,
      parse: ({ text }) => {
        const doc = parseXml(text).InitiateMultipartUploadResult;
        const uploadId = xmlText(doc, 'UploadId');
        if (!uploadId) return new Error('InitiateMultipartUpload response has no UploadId');
        return { bucket: xmlText(doc, 'Bucket') || p.bucket, key: xmlText(doc, 'Key') || p.key, uploadId };
      },
    });
  }

  /**
   * `PUT /key?partNumber&uploadId`. A file range or buffer body is retried on transport faults;
   * a Readable is sent once. `contentMd5` (base64) makes the server verify the bytes; for an
   * in-memory body it is computed when not given.
   */
  uploadPart(
    p: { bucket: string; key: string; uploadId: string; partNumber: number; body: BodyInput; contentLength?: number; contentMd5?: string } & CallOptions,
  ): Promise<GetResult<UploadPartBody>> {
    this.check([...bucketIssues(p.bucket), ...keyIssues(p.key), ...uploadIdIssues(p.uploadId), ...partNumberIssues(p.partNumber)]);
    const body = prepareBody(p.body, p.contentLength);
    const contentMd5 = p.contentMd5 ?? inMemoryMd5(p.body);
    return this.send({
      operation: 'UploadPart',
      method: 'PUT',
      bucket: p.bucket,
      key: p.key,
      query: [['partNumber', String(p.partNumber)], ['uploadId', p.uploadId]],
      headers: contentMd5 ? { 'content-md5': contentMd5 } : {},
      body,
      signal: p.signal,
      parse: ({ headers }) => {
        const etag = firstHeader(headers, 'etag');
        return etag ? { etag } : new Error('UploadPart response has no ETag');
      },
    });
  }

  /** `PUT /key?partNumber&uploadId` with `x-*-copy-source[-range]`. Success needs an ETag in the body. */
  uploadPartCopy(
    p: { bucket: string; key: string; uploadId: string; partNumber: number; range?: ByteRange } & CopySource & CallOptions,
  ): Promise<GetResult<UploadPartCopyBody>> {
    this.check([
      ...bucketIssues(p.bucket), ...keyIssues(p.key), ...uploadIdIssues(p.uploadId), ...partNumberIssues(p.partNumber),
      ...bucketIssues(p.sourceBucket, 'sourceBucket'), ...keyIssues(p.sourceKey, 'sourceKey'), ...rangeIssues(p.range, true),
    ]);
    const headers = this.copySourceHeaders(p);
    if (p.range) headers[`${this.prefix}copy-source-range`] = `bytes=${p.range.start}-${p.range.end}`;
    return this.send({
      operation: 'UploadPartCopy',
      method: 'PUT',
      bucket: p.bucket,
      key: p.key,
      query: [['partNumber', String(p.partNumber)], ['uploadId', p.uploadId]],
      headers,
      signal: p.signal,
      parse: ({ text }) => {
        const doc = parseXml(text || '<x/>').CopyPartResult;
        const etag = xmlText(doc, 'ETag');
        return etag ? { lastModified: xmlText(doc, 'LastModified'), etag } : new Error('UploadPartCopy 2xx response has no ETag');
      },
    });
  }

  /**
   * `POST /key?uploadId` with the part list, sorted ascending by the client. When a retry after an
   * ambiguous failure answers NoSuchUpload, an OBS server is asked (HEAD, `x-obs-uploadId`) whether
   * the earlier attempt completed it; if so that success is returned.
   */
  async completeMultipartUpload(
    p: { bucket: string; key: string; uploadId: string; parts: ReadonlyArray<CompletedPart> } & CallOptions,
  ): Promise<GetResult<CompleteMultipartUploadBody>> {
    const issues = [...bucketIssues(p.bucket), ...keyIssues(p.key), ...uploadIdIssues(p.uploadId)];
    if (p.parts.length === 0) issues.push({ field: 'parts', rule: 'must list at least one part' });
    const seen = new Set<number>();
    p.parts.forEach((part, i) => {
      issues.push(...partNumberIssues(part.partNumber, `parts[${i}].partNumber`));
      if (seen.has(part.partNumber)) issues.push({ field: `parts[${i}].partNumber`, rule: 'must be unique' });
      seen.add(part.partNumber);
      if (typeof part.etag !== 'string' || part.etag === '') issues.push({ field: `parts[${i}].etag`, rule: 'must be a non-empty string' });
    });
    this.check(issues);
    const xml = Buffer.from(completeMultipartXml(p.parts), 'utf8');
    try {
      return await this.send({
        operation: 'CompleteMultipartUpload',
        method: 'POST',
        bucket: p.bucket,
        key: p.key,
        query: [['uploadId', p.uploadId]],
        headers: { 'content-type': 'application/xml' },
        body: prepareBody(xml),
        signal: p.signal,
        parse: ({ headers, text }) => {
          const doc = parseXml(text || '<x/>').CompleteMultipartUploadResult;
          const etag = xmlText(doc, 'ETag');
          if (!etag) return new Error('CompleteMultipartUpload 2xx response has no ETag');
          return {
            location: xmlText(doc, 'Location'),
            bucket: xmlText(doc, 'Bucket') || p.bucket,
            key: xmlText(doc, 'Key') || p.key,
            etag,
            versionId: firstHeader(headers, `${this.prefix}version-id`),
          };
        },
      });
    } catch (err) {
      if (!(err instanceof StorageError) || err.attempts < 2 || err.result.errorCode !== 'NoSuchUpload' || this.flavour !== 'obs') throw err;
      const head = await this.headObject({ bucket: p.bucket, key: p.key, signal: p.signal }).catch(() => undefined);
      if (head?.body?.uploadId !== p.uploadId) throw err;
      return makeGetResult<CompleteMultipartUploadBody>({
        ...head,
        body: { location: '', bucket: p.bucket, key: p.key, etag: head.body.etag, versionId: head.body.versionId },
      });
    }
  }

  /** `DELETE /key?uploadId` (204). A missing upload fails with NoSuchUpload. */
  abortMultipartUpload(p: { bucket: string; key: string; uploadId: string } & CallOptions): Promise<GetResult<null>> {
    this.check([...bucketIssues(p.bucket), ...keyIssues(p.key), ...uploadIdIssues(p.uploadId)]);
    return this.send({
      operation: 'AbortMultipartUpload',
      method: 'DELETE',
      bucket: p.bucket,
      key: p.key,
      query: [['uploadId', p.uploadId]],
      signal: p.signal,
      parse: () => null,
    });
  }

  /** `GET /key?uploadId` (one page). */
  listParts(
    p: { bucket: string; key: string; uploadId: string; maxParts?: number; partNumberMarker?: number } & CallOptions,
  ): Promise<GetResult<ListPartsBody>> {
    this.check([...bucketIssues(p.bucket), ...keyIssues(p.key), ...uploadIdIssues(p.uploadId)]);
    const query: Array<[string, string | null]> = [['uploadId', p.uploadId]];
    if (p.maxParts !== undefined) query.push(['max-parts', String(p.maxParts)]);
    if (p.partNumberMarker !== undefined && p.partNumberMarker > 0) query.push(['part-number-marker', String(p.partNumberMarker)]);
    return this.send({
      operation: 'ListParts',
      method: 'GET',
      bucket: p.bucket,
      key: p.key,
      query,
      signal: p.signal,
      parse: ({ text }) => {
        const doc = parseXml(text).ListPartsResult;
        if (doc === undefined) return new Error('ListParts response is not a ListPartsResult');
        return {
          bucket: xmlText(doc, 'Bucket'),
          key: xmlText(doc, 'Key'),
          uploadId: xmlText(doc, 'UploadId'),
          parts: xmlChildren(doc, 'Part').map(toListedPart),
          isTruncated: xmlText(doc, 'IsTruncated') === 'true',
          partNumberMarker: toInt(xmlText(doc, 'PartNumberMarker')),
          nextPartNumberMarker: toInt(xmlText(doc, 'NextPartNumberMarker')),
          maxParts: toInt(xmlText(doc, 'MaxParts')),
        };
      },
    });
  }

  /** Every part of an upload, following `NextPartNumberMarker` while the listing is truncated. */
  async listAllParts(p: { bucket: string; key: string; uploadId: string } & CallOptions): Promise<ListedPart[]> {
    const parts: ListedPart[] = [];
    let marker = 0;
    for (let page = 0; page < 10_001; page++) {
      const res = await this.listParts({ ...p, partNumberMarker: marker });
      const body = res.body!;
      parts.push(...body.parts);
      if (!body.isTruncated) return parts;
      const next = body.nextPartNumberMarker || body.parts[body.parts.length - 1]?.partNumber || 0;
      if (next <= marker) throw new ObsqError('OBSQ_STORAGE', 'ListParts is truncated but its marker does not advance', { permanent: true });
      marker = next;
    }
    throw new ObsqError('OBSQ_STORAGE', 'ListParts did not finish within 10001 pages', { permanent: true });
  }

  /** `GET /?uploads` (one page): multipart uploads in progress under `prefix`. */
  listMultipartUploads(
    p: { bucket: string; prefix?: string; keyMarker?: string; uploadIdMarker?: string; maxUploads?: number } & CallOptions,
  ): Promise<GetResult<ListMultipartUploadsBody>> {
    this.check(bucketIssues(p.bucket));
    const query: Array<[string, string | null]> = [['uploads', null]];
    if (p.keyMarker) query.push(['key-marker', p.keyMarker]);
    if (p.maxUploads !== undefined) query.push(['max-uploads', String(p.maxUploads)]);
    if (p.prefix) query.push(['prefix', p.prefix]);
    if (p.keyMarker && p.uploadIdMarker) query.push(['upload-id-marker', p.uploadIdMarker]);
    return this.send({
      operation: 'ListMultipartUploads',
      method: 'GET',
      bucket: p.bucket,
      query,
      signal: p.signal,
      fallbackCode: 'NoSuchBucket',
      parse: ({ text }) => {
        const doc = parseXml(text).ListMultipartUploadsResult;
        if (doc === undefined) return new Error('ListMultipartUploads response is not a ListMultipartUploadsResult');
        return {
          bucket: xmlText(doc, 'Bucket'),
          prefix: xmlText(doc, 'Prefix'),
          keyMarker: xmlText(doc, 'KeyMarker'),
          uploadIdMarker: xmlText(doc, 'UploadIdMarker'),
          nextKeyMarker: xmlText(doc, 'NextKeyMarker'),
          nextUploadIdMarker: xmlText(doc, 'NextUploadIdMarker'),
          maxUploads: toInt(xmlText(doc, 'MaxUploads')),
          isTruncated: xmlText(doc, 'IsTruncated') === 'true',
          uploads: xmlChildren(doc, 'Upload').map((u) => ({
            key: xmlText(u, 'Key'),
            uploadId: xmlText(u, 'UploadId'),
            initiated: xmlText(u, 'Initiated'),
            storageClass: xmlText(u, 'StorageClass'),
          })),
        };
      },
    });
  }

  /** Every multipart upload in progress under `prefix`, following the markers while truncated. */
  async listAllMultipartUploads(p: { bucket: string; prefix?: string; pageSize?: number } & CallOptions): Promise<ListedUpload[]> {
    const out: ListedUpload[] = [];
    let keyMarker = '';
    let uploadIdMarker = '';
    for (;;) {
      const res = await this.listMultipartUploads({
        bucket: p.bucket,
        ...(p.prefix !== undefined ? { prefix: p.prefix } : {}),
        ...(p.pageSize !== undefined ? { maxUploads: p.pageSize } : {}),
        keyMarker,
        uploadIdMarker,
        signal: p.signal,
      });
      const body = res.body!;
      out.push(...body.uploads);
      if (!body.isTruncated) return out;
      const last = body.uploads[body.uploads.length - 1];
      const nextKey = body.nextKeyMarker || last?.key || '';
      const nextId = body.nextUploadIdMarker || last?.uploadId || '';
      if (nextKey === '' || (nextKey === keyMarker && nextId === uploadIdMarker)) {
        throw new ObsqError('OBSQ_STORAGE', 'ListMultipartUploads is truncated but its markers do not advance', { permanent: true });
      }
      keyMarker = nextKey;
      uploadIdMarker = nextId;
    }
  }

  // ---------------------------------------------------------------- objects

  /**
   * `PUT /key` with `x-*-copy-source` (≤ 5 GB; larger needs UploadPartCopy). Success needs an ETag
   * in the body. `metadataDirective` defaults to REPLACE when `metadata` or `contentType` is given
   * (OBS ignores them under COPY), else the server default COPY.
   */
  copyObject(
    p: {
      bucket: string;
      key: string;
      metadataDirective?: 'COPY' | 'REPLACE';
      metadata?: Record<string, string>;
      contentType?: string;
      storageClass?: string;
      acl?: string;
    } & CopySource & CallOptions,
  ): Promise<GetResult<CopyObjectBody>> {
    this.check([...bucketIssues(p.bucket), ...keyIssues(p.key), ...bucketIssues(p.sourceBucket, 'sourceBucket'), ...keyIssues(p.sourceKey, 'sourceKey')]);
    const headers = { ...this.objectHeaders(p), ...this.copySourceHeaders(p) };
    const directive = p.metadataDirective ?? (p.metadata !== undefined || p.contentType !== undefined ? 'REPLACE' : undefined);
    if (directive) headers[`${this.prefix}metadata-directive`] = directive;
    return this.send({
      operation: 'CopyObject',
      method: 'PUT',
      bucket: p.bucket,
      key: p.key,
      headers,
      signal: p.signal,
      parse: ({ headers: h, text }) => {
        const doc = parseXml(text || '<x/>').CopyObjectResult;
        const etag = xmlText(doc, 'ETag');
        if (!etag) return new Error('CopyObject 2xx response has no ETag');
        return {
          lastModified: xmlText(doc, 'LastModified'),
          etag,
          copySourceVersionId: firstHeader(h, `${this.prefix}copy-source-version-id`),
          versionId: firstHeader(h, `${this.prefix}version-id`),
          ...this.sseFields(h),
        };
      },
    });
  }

  /** `HEAD /key`. Errors come without a body: the code is taken from `x-obs-error-code` or the status. */
  headObject(p: { bucket: string; key: string; versionId?: string } & CallOptions): Promise<GetResult<HeadObjectBody>> {
    this.check([...bucketIssues(p.bucket), ...keyIssues(p.key)]);
    return this.send({
      operation: 'HeadObject',
      method: 'HEAD',
      bucket: p.bucket,
      key: p.key,
      query: p.versionId ? [['versionId', p.versionId]] : [],
      signal: p.signal,
      fallbackCode: 'NoSuchKey',
      parse: ({ headers }) => this.objectMetadata(headers),
    });
  }

  /** `GET /key`, body streamed: `result.body.response` is a Readable the caller must consume. */
  getObject(
    p: { bucket: string; key: string; versionId?: string; range?: ByteRange; ifMatch?: string; ifNoneMatch?: string } & CallOptions,
  ): Promise<GetResult<GetObjectBody>> {
    this.check([...bucketIssues(p.bucket), ...keyIssues(p.key), ...rangeIssues(p.range, false)]);
    const headers: Record<string, string> = {};
    if (p.range) headers.range = `bytes=${p.range.start}-${p.range.end ?? ''}`;
    if (p.ifMatch) headers['if-match'] = p.ifMatch;
    if (p.ifNoneMatch) headers['if-none-match'] = p.ifNoneMatch;
    return this.send({
      operation: 'GetObject',
      method: 'GET',
      bucket: p.bucket,
      key: p.key,
      query: p.versionId ? [['versionId', p.versionId]] : [],
      headers,
      stream: true,
      signal: p.signal,
      fallbackCode: 'NoSuchKey',
      parse: ({ headers: h, stream }) => ({ ...this.objectMetadata(h), contentRange: firstHeader(h, 'content-range'), response: stream! }),
    });
  }

  /**
   * `PUT /key` (≤ 5 GB). No body means an empty object. `contentMd5` (base64) makes the server
   * verify the bytes; for an in-memory body it is computed when not given.
   */
  putObject(
    p: {
      bucket: string;
      key: string;
      body?: BodyInput;
      contentLength?: number;
      contentMd5?: string;
      contentType?: string;
      metadata?: Record<string, string>;
      storageClass?: string;
      acl?: string;
    } & CallOptions,
  ): Promise<GetResult<PutObjectBody>> {
    this.check([...bucketIssues(p.bucket), ...keyIssues(p.key)]);
    const headers = this.objectHeaders(p);
    const contentMd5 = p.contentMd5 ?? inMemoryMd5(p.body ?? Buffer.alloc(0));
    if (contentMd5) headers['content-md5'] = contentMd5;
    return this.send({
      operation: 'PutObject',
      method: 'PUT',
      bucket: p.bucket,
      key: p.key,
      headers,
      body: prepareBody(p.body ?? Buffer.alloc(0), p.contentLength),
      signal: p.signal,
      parse: ({ headers: h }) => ({
        etag: firstHeader(h, 'etag'),
        versionId: firstHeader(h, `${this.prefix}version-id`),
        storageClass: firstHeader(h, `${this.prefix}storage-class`),
      }),
    });
  }

  /** `DELETE /key` (204). */
  deleteObject(p: { bucket: string; key: string; versionId?: string } & CallOptions): Promise<GetResult<DeleteObjectBody>> {
    this.check([...bucketIssues(p.bucket), ...keyIssues(p.key)]);
    return this.send({
      operation: 'DeleteObject',
      method: 'DELETE',
      bucket: p.bucket,
      key: p.key,
      query: p.versionId ? [['versionId', p.versionId]] : [],
      signal: p.signal,
      parse: ({ headers }) => ({
        deleteMarker: firstHeader(headers, `${this.prefix}delete-marker`) === 'true',
        versionId: firstHeader(headers, `${this.prefix}version-id`),
      }),
    });
  }

  /** `GET /?prefix&marker&max-keys&delimiter` (ListObjects V1, one page). */
  listObjects(
    p: { bucket: string; prefix?: string; marker?: string; maxKeys?: number; delimiter?: string } & CallOptions,
  ): Promise<GetResult<ListObjectsBody>> {
    this.check(bucketIssues(p.bucket));
    const query: Array<[string, string | null]> = [];
    if (p.delimiter !== undefined) query.push(['delimiter', p.delimiter]);
    if (p.marker) query.push(['marker', p.marker]);
    if (p.maxKeys !== undefined) query.push(['max-keys', String(p.maxKeys)]);
    if (p.prefix !== undefined) query.push(['prefix', p.prefix]);
    return this.send({
      operation: 'ListObjects',
      method: 'GET',
      bucket: p.bucket,
      query,
      signal: p.signal,
      fallbackCode: 'NoSuchBucket',
      parse: ({ text }) => {
        const doc = parseXml(text).ListBucketResult;
        if (doc === undefined) return new Error('ListObjects response is not a ListBucketResult');
        const contents = xmlChildren(doc, 'Contents').map(toListedObject);
        return {
          name: xmlText(doc, 'Name'),
          prefix: xmlText(doc, 'Prefix'),
          marker: xmlText(doc, 'Marker'),
          delimiter: xmlText(doc, 'Delimiter'),
          maxKeys: toInt(xmlText(doc, 'MaxKeys')),
          isTruncated: xmlText(doc, 'IsTruncated') === 'true',
          nextMarker: xmlText(doc, 'NextMarker') || (contents[contents.length - 1]?.key ?? ''),
          contents,
          commonPrefixes: xmlChildren(doc, 'CommonPrefixes').map((c) => ({ prefix: xmlText(c, 'Prefix') })),
        };
      },
    });
  }

  /**
   * The objects under `prefix`, one page at a time, following markers while the listing is
   * truncated: memory stays at one page however many objects there are.
   */
  async *listObjectPages(p: { bucket: string; prefix?: string; pageSize?: number } & CallOptions): AsyncGenerator<ListedObject[]> {
    let marker = '';
    for (;;) {
      const res = await this.listObjects({
        bucket: p.bucket,
        ...(p.prefix !== undefined ? { prefix: p.prefix } : {}),
        ...(p.pageSize !== undefined ? { maxKeys: p.pageSize } : {}),
        marker,
        signal: p.signal,
      });
      const body = res.body!;
      yield body.contents;
      if (!body.isTruncated) return;
      if (!body.nextMarker || body.nextMarker <= marker) {
        throw new ObsqError('OBSQ_STORAGE', 'ListObjects is truncated but its marker does not advance', { permanent: true });
      }
      marker = body.nextMarker;
    }
  }

  /** Every object under `prefix` (see {@link listObjectPages}). */
  async listAllObjects(p: { bucket: string; prefix?: string; pageSize?: number } & CallOptions): Promise<ListedObject[]> {
    const out: ListedObject[] = [];
    for await (const page of this.listObjectPages(p)) out.push(...page);
    return out;
  }

  // ---------------------------------------------------------------- buckets

  /** `HEAD /` on the bucket: 200 when it exists and is accessible (404 NoSuchBucket, 403). */
  headBucket(p: { bucket: string } & CallOptions): Promise<GetResult<HeadBucketBody>> {
    this.check(bucketIssues(p.bucket));
    return this.send({
      operation: 'HeadBucket',
      method: 'HEAD',
      bucket: p.bucket,
      signal: p.signal,
      fallbackCode: 'NoSuchBucket',
      parse: ({ headers }) => ({
        location: firstHeader(headers, 'x-obs-bucket-location', 'x-amz-bucket-region'),
        storageClass: firstHeader(headers, `${this.prefix}storage-class`),
      }),
    });
  }

  /** `PUT /` on the bucket, with a location body when `location` is given. */
  createBucket(p: { bucket: string; location?: string; acl?: string; storageClass?: string } & CallOptions): Promise<GetResult<null>> {
    this.check(bucketIssues(p.bucket));
    const headers: Record<string, string> = {};
    if (p.acl) headers[`${this.prefix}acl`] = p.acl;
    if (p.storageClass) headers[`${this.prefix}storage-class`] = p.storageClass;
    let body: PreparedBody | undefined;
    if (p.location) {
      const tag = this.flavour === 'obs' ? 'Location' : 'LocationConstraint';
      body = prepareBody(`<CreateBucketConfiguration><${tag}>${escapeXml(p.location)}</${tag}></CreateBucketConfiguration>`);
      headers['content-type'] = 'application/xml';
    }
    return this.send({
      operation: 'CreateBucket',
      method: 'PUT',
      bucket: p.bucket,
      headers,
      ...(body ? { body } : {}),
      signal: p.signal,
      parse: () => null,
    });
  }

  /** `DELETE /` on the bucket (204); it must be empty. */
  deleteBucket(p: { bucket: string } & CallOptions): Promise<GetResult<null>> {
    this.check(bucketIssues(p.bucket));
    return this.send({ operation: 'DeleteBucket', method: 'DELETE', bucket: p.bucket, signal: p.signal, parse: () => null });
  }

  // ---------------------------------------------------------------- presigning

  /**
   * A presigned URL (query authentication) in the client's signature mode. Like the SDK's
   * `createSignedUrlSync`: the user of the URL must send `actualSignedRequestHeaders` unchanged.
   */
  createSignedUrl(p: SignedUrlRequest): SignedUrl {
    const issues: ValidationIssue[] = [];
    const method = p.method.toUpperCase();
    if (!['GET', 'PUT', 'POST', 'DELETE', 'HEAD'].includes(method)) issues.push({ field: 'method', rule: 'must be GET, PUT, POST, DELETE or HEAD' });
    if (p.bucket !== undefined) issues.push(...bucketIssues(p.bucket));
    if (p.key !== undefined) {
      if (p.bucket === undefined) issues.push({ field: 'key', rule: 'needs a bucket' });
      issues.push(...keyIssues(p.key));
    }
    const expires = p.expires ?? 300;
    if (!Number.isInteger(expires) || expires < 0) issues.push({ field: 'expires', rule: 'must be a non-negative integer (seconds)' });
    this.check(issues);

    const target = this.target(p.bucket, p.key);
    const query: Array<[string, string | null]> = [];
    if (p.specialParam) query.push([p.specialParam, null]);
    for (const [k, v] of Object.entries(p.queryParams ?? {})) query.push([k, String(v)]);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(p.headers ?? {})) headers[k.toLowerCase()] = v;
    const creds = this.credentials();
    const signable = { method, path: target.path, query, headers, ...(target.virtualHostBucket !== undefined ? { virtualHostBucket: target.virtualHostBucket } : {}) };
    const signedQuery =
      this.signature === 'v4'
        ? presignV4({ ...signable, host: target.host }, creds, { region: this.region, date: new Date(), expires: Math.max(1, expires) }).query
        : presignV2(this.signature, signable, creds, { expires }).query;
    return {
      signedUrl: `${this.endpoint.protocol}//${target.host}${target.path}?${formatQuery(signedQuery)}`,
      actualSignedRequestHeaders: { host: target.host, ...headers },
    };
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Closes the client's own connection pool (waiting for in-flight requests); idempotent. With
   * `force`, in-flight requests are destroyed. Later calls reject with `OBSQ_CLOSED`.
   * An injected `dispatcher` is left open: its owner closes it.
   */
  close(opts: { force?: boolean } = {}): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      if (!this.ownsDispatcher) return;
      try {
        if (opts.force) await this.dispatcher.destroy();
        else await this.dispatcher.close();
      } catch (err) {
        throw new ObsqError('OBSQ_INTERNAL', 'closing the storage connection pool failed', { cause: coerceError(err) });
      }
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------- internals

  private check(issues: ValidationIssue[]): void {
    if (issues.length > 0) throw new ValidationError(issues);
  }

  private target(bucket?: string, key?: string): Target {
    const endpointHost = this.endpoint.host;
    let host = endpointHost;
    let path = '/';
    let virtualHostBucket: string | undefined;
    if (bucket !== undefined) {
      const encodedKey = key !== undefined ? `/${encodeKey(key)}` : '';
      if (this.pathStyle) {
        path = `/${bucket}${encodedKey}`;
      } else {
        host = `${bucket}.${endpointHost}`;
        path = encodedKey || '/';
        virtualHostBucket = bucket;
      }
    }
    const port = this.endpoint.port ? `:${this.endpoint.port}` : '';
    const connectHost = this.connectAddress !== undefined ? (isIP(this.connectAddress) === 6 ? `[${this.connectAddress}]` : this.connectAddress) + port : host;
    return { origin: `${this.endpoint.protocol}//${connectHost}`, host, path, ...(virtualHostBucket !== undefined ? { virtualHostBucket } : {}) };
  }

  private objectHeaders(p: { contentType?: string; metadata?: Record<string, string>; storageClass?: string; acl?: string }): Record<string, string> {
    const headers: Record<string, string> = {};
    if (p.contentType) headers['content-type'] = p.contentType;
    if (p.storageClass) headers[`${this.prefix}storage-class`] = p.storageClass;
    if (p.acl) headers[`${this.prefix}acl`] = p.acl;
    for (const [name, value] of Object.entries(p.metadata ?? {})) {
      // Header values must be ASCII; non-ASCII metadata is percent-encoded as the SDKs do.
      headers[`${this.prefix}meta-${name.toLowerCase()}`] = /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
    }
    return headers;
  }

  private copySourceHeaders(p: CopySource): Record<string, string> {
    const pre = `${this.prefix}copy-source`;
    const headers: Record<string, string> = {
      [pre]: `/${p.sourceBucket}/${encodeKey(p.sourceKey)}${p.sourceVersionId ? `?versionId=${encodeURIComponent(p.sourceVersionId)}` : ''}`,
    };
    if (p.ifMatch) headers[`${pre}-if-match`] = p.ifMatch;
    if (p.ifNoneMatch) headers[`${pre}-if-none-match`] = p.ifNoneMatch;
    if (p.ifModifiedSince) headers[`${pre}-if-modified-since`] = httpDate(p.ifModifiedSince);
    if (p.ifUnmodifiedSince) headers[`${pre}-if-unmodified-since`] = httpDate(p.ifUnmodifiedSince);
    return headers;
  }

  private sseFields(h: ResponseHeaders): Pick<CopyObjectBody, 'sseKms' | 'sseKmsKey' | 'sseC' | 'sseCKeyMd5'> {
    const pre = this.prefix;
    const sse = firstHeader(h, `${pre}server-side-encryption`);
    return {
      sseKms: sse.replace(/^aws:/, '') === 'kms' ? 'kms' : '',
      sseKmsKey: firstHeader(h, 'x-obs-server-side-encryption-kms-key-id', 'x-amz-server-side-encryption-aws-kms-key-id'),
      sseC: firstHeader(h, `${pre}server-side-encryption-customer-algorithm`),
      sseCKeyMd5: firstHeader(h, `${pre}server-side-encryption-customer-key-md5`),
    };
  }

  private objectMetadata(h: ResponseHeaders): ObjectMetadataBody {
    const metadata: Record<string, string> = {};
    const metaPrefix = `${this.prefix}meta-`;
    for (const [name, value] of Object.entries(h)) {
      if (name.startsWith(metaPrefix) && value !== undefined) metadata[name.slice(metaPrefix.length)] = Array.isArray(value) ? value.join(',') : value;
    }
    const uploadId = firstHeader(h, 'x-obs-uploadid');
    return {
      contentLength: toInt(firstHeader(h, 'content-length')),
      contentType: firstHeader(h, 'content-type'),
      etag: firstHeader(h, 'etag'),
      lastModified: firstHeader(h, 'last-modified'),
      versionId: firstHeader(h, `${this.prefix}version-id`),
      storageClass: firstHeader(h, `${this.prefix}storage-class`),
      metadata,
      ...(uploadId ? { uploadId } : {}),
    };
  }

  private emit(event: StorageRequestEvent): void {
    if (!this.onRequest) return;
    try {
      this.onRequest(event);
    } catch (err) {
      this.logger?.warn({ err: coerceError(err), operation: event.operation }, 'storage onRequest listener threw');
    }
  }

  /** Runs a call with the client's retry policy; throws StorageError on failure. */
  private async send<B>(call: Call<B>): Promise<GetResult<B>> {
    for (let attempt = 1; ; attempt++) {
      if (this.closing) throw new ObsqError('OBSQ_CLOSED', `${call.operation}: the storage client is closed`, { permanent: true });
      throwIfAborted(call);
      const started = performance.now();
      let result: GetResult<B>;
      let cause: unknown;
      try {
        result = await this.attempt(call);
      } catch (err) {
        if (call.signal?.aborted) throw abortedError(call);
        if (err instanceof ValidationError) throw err;
        cause = err;
        result = noResponseResult(err);
      }
      const failed = isFailedResult(result);
      const verdict = failed ? classifyFailure(cause ?? result) : undefined;
      const willRetry = verdict !== undefined && verdict.retryable && attempt < this.maxAttempts && call.body?.replayable !== false;
      this.emit({
        operation: call.operation,
        method: call.method,
        status: result.status,
        errorCode: result.errorCode,
        durationMs: performance.now() - started,
        attempt,
        willRetry,
      });
      if (!failed) return result;
      if (!willRetry) throw new StorageError(call.operation, result, { cause, attempts: attempt });
      const delay = backoffDelay(attempt, { ...this.backoff, retryAfterMs: retryAfterMsOf(result) });
      try {
        await sleep(delay, undefined, call.signal ? { signal: call.signal } : undefined);
      } catch {
        throw abortedError(call);
      }
    }
  }

  /** One HTTP exchange: fresh date, signature and body. Rejects only when there was no response. */
  private async attempt<B>(call: Call<B>): Promise<GetResult<B>> {
    const target = this.target(call.bucket, call.key);
    const query = call.query ?? [];
    const creds = this.credentials();
    const now = new Date();
    const headers: Record<string, string> = { ...call.headers };
    const body = call.body?.open();
    const length = call.body ? call.body.length : 0;
    if (length !== undefined && (call.body || call.method === 'PUT' || call.method === 'POST')) headers['content-length'] = String(length);

    let authorization: string;
    if (this.signature === 'v4') {
      headers['x-amz-date'] = formatAmzDate(now);
      headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      if (creds.securityToken !== undefined) headers['x-amz-security-token'] = creds.securityToken;
      authorization = signV4({ method: call.method, path: target.path, query, headers, host: target.host }, creds, { region: this.region, date: now }).authorization;
    } else {
      if (this.signature === 'obs') headers.date = now.toUTCString();
      else headers['x-amz-date'] = now.toUTCString();
      if (creds.securityToken !== undefined) headers[`${this.prefix}security-token`] = creds.securityToken;
      const signable = { method: call.method, path: target.path, query, headers, ...(target.virtualHostBucket !== undefined ? { virtualHostBucket: target.virtualHostBucket } : {}) };
      authorization = authorizationV2(this.signature, creds.accessKeyId, signV2(this.signature, signable, creds.secretAccessKey));
    }

    const res = await this.dispatcher.request({
      origin: target.origin,
      path: target.path + (query.length > 0 ? `?${formatQuery(query)}` : ''),
      method: call.method as Dispatcher.HttpMethod,
      headers: { ...headers, host: target.host, authorization, 'user-agent': this.userAgent },
      body: body ?? null,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      ...(call.signal ? { signal: call.signal } : {}),
    });
    const status = res.statusCode;
    const resHeaders = res.headers as ResponseHeaders;
    const ok = status >= 200 && status < 300;
    if (ok && call.stream) {
      const parsed = call.parse({ status, headers: resHeaders, text: '', stream: res.body });
      if (parsed instanceof Error) {
        res.body.destroy();
        return buildResult<B>({ status, headers: resHeaders, bodyText: invalidResponseXml(parsed.message) });
      }
      return buildResult<B>({ status, headers: resHeaders, body: parsed });
    }
    const text = call.method === 'HEAD' ? (await res.body.dump(), '') : await res.body.text();
    if (!ok) return buildResult<B>({ status, headers: resHeaders, bodyText: text, ...(call.fallbackCode && status === 404 ? { fallbackCode: call.fallbackCode } : {}) });
    const asError = buildResult<B>({ status, headers: resHeaders, bodyText: text });
    if (isFailedResult(asError)) return asError; // 2xx with an <Error> body
    let parsed: B | Error;
    try {
      parsed = call.parse({ status, headers: resHeaders, text });
    } catch (err) {
      parsed = coerceError(err);
    }
    if (parsed instanceof Error) return buildResult<B>({ status, headers: resHeaders, bodyText: invalidResponseXml(parsed.message) });
    return buildResult<B>({ status, headers: resHeaders, body: parsed });
  }
}

function throwIfAborted(call: Call<unknown>): void {
  if (call.signal?.aborted) throw abortedError(call);
}

function abortedError(call: Call<unknown>): ObsqError {
  return new ObsqError('OBSQ_ABORTED', `${call.operation} aborted`, { cause: call.signal?.reason });
}

/** A 2xx we cannot use (no ETag, unparsable) becomes an `<Error>` so it flows like one. */
function invalidResponseXml(message: string): string {
  return `<Error><Code>InvalidResponse</Code><Message>${escapeXml(message)}</Message></Error>`;
}

function httpDate(v: Date | string): string {
  return typeof v === 'string' ? v : v.toUTCString();
}

function toInt(v: string): number {
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : 0;
}

function toListedPart(node: XmlNode): ListedPart {
  return {
    partNumber: toInt(xmlText(node, 'PartNumber')),
    etag: xmlText(node, 'ETag'),
    size: toInt(xmlText(node, 'Size')),
    lastModified: xmlText(node, 'LastModified'),
  };
}

function toListedObject(node: XmlNode): ListedObject {
  return {
    key: xmlText(node, 'Key'),
    lastModified: xmlText(node, 'LastModified'),
    etag: xmlText(node, 'ETag'),
    size: toInt(xmlText(node, 'Size')),
    storageClass: xmlText(node, 'StorageClass'),
  };
}

function bucketIssues(bucket: unknown, field = 'bucket'): ValidationIssue[] {
  // Only what would break the request line; naming rules are checked at enqueue (validation/).
  if (typeof bucket !== 'string' || bucket === '' || /[/?#\s]/.test(bucket)) {
    return [{ field, rule: 'must be a non-empty bucket name without /, ?, # or spaces' }];
  }
  return [];
}

function keyIssues(key: unknown, field = 'key'): ValidationIssue[] {
  if (typeof key !== 'string' || key === '') return [{ field, rule: 'must be a non-empty string' }];
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > 1024) return [{ field, rule: `must be at most 1024 bytes in UTF-8 (got ${bytes})` }];
  return [];
}

function uploadIdIssues(uploadId: unknown): ValidationIssue[] {
  return typeof uploadId === 'string' && uploadId !== '' ? [] : [{ field: 'uploadId', rule: 'must be a non-empty string' }];
}

function partNumberIssues(n: unknown, field = 'partNumber'): ValidationIssue[] {
  return Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 10_000 ? [] : [{ field, rule: 'must be an integer from 1 to 10000' }];
}

function rangeIssues(range: ByteRange | undefined, needEnd: boolean): ValidationIssue[] {
  if (range === undefined) return [];
  const issues: ValidationIssue[] = [];
  if (!Number.isSafeInteger(range.start) || range.start < 0) issues.push({ field: 'range.start', rule: 'must be a non-negative integer' });
  if (range.end === undefined) {
    if (needEnd) issues.push({ field: 'range.end', rule: 'is required' });
  } else if (!Number.isSafeInteger(range.end) || range.end < range.start) {
    issues.push({ field: 'range.end', rule: 'must be an integer not below range.start (inclusive)' });
  }
  return issues;
}
