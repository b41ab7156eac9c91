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
}

/** What a handler gets besides the request. */
export interface HandlerEnv {
  store: FileStore;
  settings: ObsSettings;
  region: string;
  auth: AuthOutcome;
}

/** One operation's implementation. */
export type Handler = (ctx: RequestContext, env: HandlerEnv) => Promise<void>;

/** 5 GiB: the largest single PUT, part, or part copy. */
export const MAX_SINGLE_UPLOAD_BYTES = 5 * 1024 * 1024 * 1024;
