import type { GetResult } from '@obsq/shared';
import type { ListedUpload } from './bodies.js';
import type { CallOptions, ObsClient } from './obsClient.js';

/** An open multipart upload with its age. */
export interface OpenUpload extends ListedUpload {
  bucket: string;
  /** Age at listing time, in ms (from `initiated`); `-1` when the server sent no parsable date. */
  ageMs: number;
}

/** What {@link listOpenUploads} found. */
export interface OpenUploadsScan {
  /** Every open upload under the prefix (the gauge of open uploads reports this count). */
  open: number;
  /** The uploads at least `olderThanMs` old, oldest first. */
  stale: OpenUpload[];
}

/**
 * Lists the multipart uploads open under `bucket/prefix` (ListMultipartUploads, every page) and
 * keeps those initiated at least `olderThanMs` ago. An upload with no parsable `initiated` date is
 * never called stale: aborting it could destroy an upload that just started.
 */
export async function listOpenUploads(
  storage: ObsClient,
  p: { bucket: string; prefix?: string; olderThanMs: number; now?: number } & CallOptions,
): Promise<OpenUploadsScan> {
  const now = p.now ?? Date.now();
  const all = await storage.listAllMultipartUploads({ bucket: p.bucket, ...(p.prefix ? { prefix: p.prefix } : {}), signal: p.signal });
  const stale = all
    .map((u): OpenUpload => {
      const t = Date.parse(u.initiated);
      return { ...u, bucket: p.bucket, ageMs: Number.isNaN(t) ? -1 : Math.max(0, now - t) };
    })
    .filter((u) => u.ageMs >= 0 && u.ageMs >= p.olderThanMs)
    .sort((a, b) => b.ageMs - a.ageMs);
  return { open: all.length, stale };
}

/** How aborting one upload went. */
export interface AbortOutcome {
  key: string;
  uploadId: string;
  /** `aborted`, `gone` (NoSuchUpload: completed or aborted meanwhile) or `failed`. */
  outcome: 'aborted' | 'gone' | 'failed';
  /** The server's error code (or the error's) when `failed`. */
  errorCode?: string;
}

/** Aborts each upload in turn; one failure does not stop the others. Never throws. */
export async function abortUploads(storage: ObsClient, uploads: readonly OpenUpload[], opts: CallOptions = {}): Promise<AbortOutcome[]> {
  const out: AbortOutcome[] = [];
  for (const u of uploads) {
    try {
      await storage.abortMultipartUpload({ bucket: u.bucket, key: u.key, uploadId: u.uploadId, signal: opts.signal });
      out.push({ key: u.key, uploadId: u.uploadId, outcome: 'aborted' });
    } catch (err) {
      const code = (err as { result?: GetResult }).result?.errorCode || (err as { code?: string }).code || 'unknown';
      out.push({ key: u.key, uploadId: u.uploadId, outcome: code === 'NoSuchUpload' ? 'gone' : 'failed', errorCode: code });
    }
  }
  return out;
}
