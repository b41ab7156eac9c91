import type { FaultTamper } from '../../faults/index.js';
import type { FileStore } from '../../storage/index.js';
import type { RequestContext } from '../requestContext.js';
import type { AuthOutcome } from '../verifyAuth.js';

/** Limits that tests may change at runtime (`PUT /__devstack/settings`). */
export interface ObsSettings {
  /**
   * Minimum size of every part but the last, checked at CompleteMultipartUpload, in bytes.
   * @defaultValue 102400 (100 KiB, OBS 3.0 buckets; S3 and MinIO use 5 MiB)
   */
  minPartSize: number;
  /**
   * Largest source CopyObject accepts, in bytes; larger sources need UploadPartCopy.
   * @defaultValue 5368709120 (5 GiB)
   */
  copyObjectMaxBytes: number;
  /**
   * Refuse a PutObject or UploadPart that carries no `Content-MD5` with 400 `InvalidRequest`
   * ("Missing required header for this request: Content-MD5."), as S3 does where the header is
   * mandatory (and OBS for its MD5-guarded operations). On in obsq's own tests, so a client or
   * worker that stops sending the header is caught.
   * @defaultValue false
   */
  requireContentMd5: boolean;
}

/** What a handler gets besides the request. */
export interface HandlerEnv {
  store: FileStore;
  settings: ObsSettings;
  region: string;
  auth: AuthOutcome;
  /** An injected fault that breaks this request's data (see `FaultSpec.tamper`). */
  tamper?: FaultTamper;
}

/** One operation's implementation. */
export type Handler = (ctx: RequestContext, env: HandlerEnv) => Promise<void>;

/** 5 GiB: the largest single PUT, part, or part copy. */
export const MAX_SINGLE_UPLOAD_BYTES = 5 * 1024 * 1024 * 1024;
