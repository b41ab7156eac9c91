import type { Cluster, Redis } from 'ioredis';
import type { GetResult } from '../result/getResult.js';
import type { BatchMembership } from '../result/resultStore.js';
import { BATCH_ID_RULE } from '../catalog/jobCatalog.js';

/**
 * Redis key holding the upload id of a multipart upload its parts initiate on the worker side
 * (batches): `pending:<lease>` while a part initiates, the upload id once published, `aborted` once
 * the parent (or an operator) gave up.
 */
export function uploadIdKey(prefix: string, parentId: string): string {
  return `${prefix}:mpu:${parentId}`;
}

/** Prefix of a value that is an initiating part's lease, not an upload id. */
export const UPLOAD_ID_PENDING = 'pending:';
/** Value written by whoever gave the upload up: late parts must not initiate a new upload. */
export const UPLOAD_ID_ABORTED = 'aborted';

/** A published upload id, or undefined for no value, a lease or a tombstone. */
export function publishedUploadId(value: string | null | undefined): string | undefined {
  return value && !value.startsWith(UPLOAD_ID_PENDING) && value !== UPLOAD_ID_ABORTED ? value : undefined;
}

// Tombstones the key unless an upload id is published; returns what was there.
const ABANDON = `
local v = redis.call('GET', KEYS[1])
if v == false or string.sub(v, 1, 8) == 'pending:' then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
end
return v
`;

/**
 * For a parent (or an operator) giving a worker-side upload up: the upload id to abort, if its
 * parts published one. Otherwise leaves a tombstone, so a part still running (or initiating right
 * now: its publish then fails) cannot start an upload nobody would complete or abort.
 */
export async function abandonWorkerSideUpload(redis: Redis | Cluster, prefix: string, parentId: string, ttlSeconds: number): Promise<string | undefined> {
  const value = (await redis.eval(ABANDON, 1, uploadIdKey(prefix, parentId), UPLOAD_ID_ABORTED, String(ttlSeconds))) as string | null;
  return publishedUploadId(value);
}

/**
 * The batch a job's record counts toward, read defensively from the raw payload (a job whose
 * payload fails validation still counts, as a failure). `result` gives the bytes of a success.
 */
export function batchMembershipOf(data: unknown, result: GetResult): BatchMembership | undefined {
  const d = data as { batch?: { id?: unknown; item?: unknown; bytes?: unknown }; key?: unknown; audio?: { key?: unknown; path?: unknown } } | undefined;
  const id = d?.batch?.id;
  if (typeof id !== 'string' || !BATCH_ID_RULE.test(id)) return undefined;
  const size = (result.body as { size?: unknown } | null)?.size;
  const declared = d?.batch?.bytes;
  // Uploads name their object `key`; a transcription names its audio.
  const key = [d?.key, d?.audio?.key, d?.audio?.path].find((k): k is string => typeof k === 'string') ?? '';
  const ok = result.status >= 200 && result.status < 300;
  return {
    id,
    key: key.slice(0, 1024),
    item: typeof d?.batch?.item === 'string' ? d.batch.item.slice(0, 8192) : '',
    bytes: typeof size === 'number' && Number.isFinite(size) ? size : ok && typeof declared === 'number' && Number.isFinite(declared) ? declared : 0,
  };
}
