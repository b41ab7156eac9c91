import { createRequire } from 'node:module';

/*
 * Third-party libraries the benchmarks compare against, taken from the `@obsq/test` workspace
 * package's node_modules (it already depends on them) instead of making `bench/` a package of its
 * own: one `createRequire` is simpler than a workspace entry and a second lockfile importer.
 */
const requireFromTest = createRequire(new URL('../../test/package.json', import.meta.url));

/** BullMQ 6.7 (the CommonJS build; same API as the ESM build the services load). */
export const bullmq = requireFromTest('bullmq') as typeof import('../../test/node_modules/bullmq/dist/esm/index.js');

/** What esdk-obs-nodejs 3.26.8 answers (it ships no types). */
export interface EsdkResult {
  CommonMsg: { Status: number; Code: string; Message: string; RequestId: string };
  InterfaceResult?: Record<string, unknown>;
}

/** The slice of Huawei's `ObsClient` the benchmarks call; each returns a promise when no callback is given. */
export interface EsdkClient {
  /** Multipart upload of a local file, `TaskNum` parts at once. Rejects with a `Code:Message` string. */
  uploadFile(param: { Bucket: string; Key: string; UploadFile: string; PartSize: number; TaskNum: number }): Promise<EsdkResult>;
  copyObject(param: { Bucket: string; Key: string; CopySource: string }): Promise<EsdkResult>;
  close(): void;
}

/** Constructor options of esdk's `ObsClient` used here. */
export interface EsdkClientOptions {
  access_key_id: string;
  secret_access_key: string;
  /** `http://127.0.0.1:PORT`: an IP endpoint makes esdk use path-style and the V2 signature. */
  server: string;
  http_agent?: unknown;
  /** Seconds per request. @defaultValue 60 */
  timeout?: number;
  max_retry_count?: number;
}

/** Huawei's official OBS SDK for Node.js, `esdk-obs-nodejs` 3.26.8: the anchor of the storage benchmarks. */
export const EsdkObsClient = requireFromTest('esdk-obs-nodejs') as new (opts: EsdkClientOptions) => EsdkClient;

/** Creates an esdk client and waits the one tick its constructor needs to finish initialising. */
export async function createEsdkClient(opts: EsdkClientOptions): Promise<EsdkClient> {
  const client = new EsdkObsClient(opts);
  await new Promise((resolve) => setImmediate(resolve));
  return client;
}

/** The slice of `@aws-sdk/client-s3`'s S3Client config used here. */
export interface S3ClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle: boolean;
  requestHandler?: unknown;
}

/** `@aws-sdk/client-s3` `S3Client`, as far as the benchmarks use it. */
export interface S3Client {
  destroy(): void;
}

/** `@aws-sdk/client-s3` (the `S3Client` that lib-storage drives). */
export const S3ClientClass = requireFromTest('@aws-sdk/client-s3').S3Client as new (config: S3ClientConfig) => S3Client;

/** `@smithy/node-http-handler`'s handler (through client-s3), to size the keep-alive agent like the others. */
export const NodeHttpHandler = createRequire(requireFromTest.resolve('@aws-sdk/client-s3'))('@smithy/node-http-handler').NodeHttpHandler as new (opts: {
  httpAgent: unknown;
}) => unknown;

/** `@aws-sdk/lib-storage` `Upload`: AWS's managed multipart upload of a stream, `queueSize` parts at once. */
export const LibStorageUpload = requireFromTest('@aws-sdk/lib-storage').Upload as new (opts: {
  client: S3Client;
  params: { Bucket: string; Key: string; Body: unknown };
  queueSize: number;
  partSize: number;
  leavePartsOnError?: boolean;
}) => { done(): Promise<{ ETag?: string }> };
