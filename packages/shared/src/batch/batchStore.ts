import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { makeGetResult, type GetResult } from '../result/getResult.js';
import { batchKeys, type BatchFailure, type ResultStore, type StoredResult } from '../result/resultStore.js';

/** Body of a batch's record (a GetResult, status 200 or 207). */
export interface BatchRecordBody {
  batchId: string;
  bucket: string;
  prefix: string;
  /** Every item the batch named: succeeded + failed + skipped. */
  files: number;
  succeeded: number;
  /** Failed uploads plus items refused before they were enqueued (bad manifest lines, unreadable files). */
  failed: number;
  /** Already stored (by `--skip-existing`), not uploaded. */
  skipped: number;
  /** Bytes uploaded. */
  bytes: number;
  durationMs: number;
  mibPerSec: number;
  /** Failures by error code. */
  errorCounts: Record<string, number>;
  /** The first 100 failures. */
  failures: BatchFailure[];
}

/** Live state of a batch, from its counters. */
export interface BatchStatus {
  batchId: string;
  bucket: string;
  prefix: string;
  createdAt: number;
  /** True once the producer enqueued every item. */
  sealed: boolean;
  /** True once `obsq cancel` cancelled the batch: a producer still enqueueing it stops. */
  cancelled: boolean;
  /** Files enqueued. */
  members: number;
  /** Enqueued files with a record. */
  done: number;
  succeeded: number;
  failed: number;
  skipped: number;
  refused: number;
  /** Bytes of the enqueued files, and of those stored so far. */
  bytesTotal: number;
  bytesDone: number;
  /** The batch record, once written. */
  record?: StoredResult<BatchRecordBody>;
}

/** Options of {@link BatchStore}. */
export interface BatchStoreOptions {
  redis: Redis | Cluster;
  /** Hash-tagged prefix shared with the queues, e.g. `{obsq}`. */
  prefix: string;
  /** Where file and batch records go. */
  results: ResultStore;
  /** How long a finished batch's keys are kept, in seconds. @defaultValue 604800 */
  retentionSeconds?: number;
}

// Registers members; a job id already registered (a re-submitted batch) is not counted twice.
const ADD_MEMBERS = `
local n = 0
local bytes = 0
for i = 1, #ARGV, 2 do
  if redis.call('SADD', KEYS[2], ARGV[i]) == 1 then
    n = n + 1
    bytes = bytes + tonumber(ARGV[i + 1])
  end
end
if n > 0 then
  redis.call('HINCRBY', KEYS[1], 'members', n)
  redis.call('HINCRBY', KEYS[1], 'bytes', bytes)
end
return n
`;

// Skips and refusals are sets too, so re-submitting a batch counts nothing twice; a file already
// a member (uploaded by the earlier submission) is not a skip.
const SKIP = `
local n = 0
for i = 1, #ARGV do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 0 and redis.call('SADD', KEYS[3], ARGV[i]) == 1 then n = n + 1 end
end
if n > 0 then redis.call('HINCRBY', KEYS[1], 'skipped', n) end
return n
`;

const REFUSE = `
if redis.call('SADD', KEYS[4], ARGV[3]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'refused', 1)
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
if redis.call('LLEN', KEYS[3]) < 100 then redis.call('RPUSH', KEYS[3], ARGV[2]) end
return 1
`;

const SEAL = `
redis.call('HSET', KEYS[1], 'sealed', '1')
local st = redis.call('HMGET', KEYS[1], 'members', 'done')
if tonumber(st[2] or '0') >= tonumber(st[1] or '0') then return 1 end
return 0
`;

const num = (v: string | undefined) => (v === undefined || v === '' ? 0 : Number(v));

/**
 * The job id of a batch's file: the batch id plus a digest of the object key, so re-submitting the
 * batch finds the same jobs and BullMQ adds nothing twice.
 */
export function batchFileJobId(batchId: string, key: string): string {
  return `${batchId}.f${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32)}`;
}

/**
 * Counters, failures and the record of batches. A file's record updates its batch in the same Lua
 * step ({@link ResultStore.writeOnceInBatch}); the batch record is written once, when the batch is
 * sealed and every member has its record, by whoever sees that first (worker, producer, or a
 * status/wait call repairing after a crash).
 */
export class BatchStore {
  private readonly redis: Redis | Cluster;
  private readonly prefix: string;
  private readonly results: ResultStore;
  private readonly retentionSeconds: number;

  constructor(opts: BatchStoreOptions) {
    this.redis = opts.redis;
    this.prefix = opts.prefix;
    this.results = opts.results;
    this.retentionSeconds = opts.retentionSeconds ?? 7 * 24 * 3600;
  }

  private keys(id: string) {
    return batchKeys(this.prefix, id);
  }

  /** Creates the batch unless it exists; returns false for a re-submission. */
  async create(id: string, target: { bucket: string; prefix: string }): Promise<boolean> {
    const k = this.keys(id);
    const created = await this.redis.hsetnx(k.meta, 'createdAt', String(Date.now()));
    if (created === 1) {
      await this.redis.hset(k.meta, 'bucket', target.bucket, 'prefix', target.prefix);
      await this.redis.zadd(k.open, Date.now(), id);
    }
    return created === 1;
  }

  /** Registers enqueued files; returns how many were new. */
  async addMembers(id: string, members: ReadonlyArray<{ jobId: string; bytes: number }>): Promise<number> {
    if (members.length === 0) return 0;
    const k = this.keys(id);
    const args = members.flatMap((m) => [m.jobId, String(m.bytes)]);
    return Number(await this.redis.eval(ADD_MEMBERS, 2, k.meta, k.members, ...args));
  }

  /** Counts files found already stored (by their job ids); returns how many were new skips. */
  async skip(id: string, jobIds: readonly string[]): Promise<number> {
    if (jobIds.length === 0) return 0;
    const k = this.keys(id);
    return Number(await this.redis.eval(SKIP, 3, k.meta, k.members, k.skipped, ...jobIds));
  }

  /** Counts an item refused before it was enqueued (a failure of the batch), once per line and key. */
  async refuse(id: string, failure: BatchFailure): Promise<void> {
    const k = this.keys(id);
    const identity = `${failure.line ?? ''}|${failure.key}|${failure.source}`;
    await this.redis.eval(REFUSE, 4, k.meta, k.errors, k.failures, k.refused, failure.errorCode, JSON.stringify(failure), identity);
  }

  /** Marks every item enqueued; writes the batch record if every member already has its own. */
  async seal(id: string): Promise<StoredResult<BatchRecordBody> | undefined> {
    const k = this.keys(id);
    const complete = Number(await this.redis.eval(SEAL, 1, k.meta));
    return complete === 1 ? this.finalize(id) : undefined;
  }

  /** Live counters (and the record once written); undefined for an unknown or expired batch. */
  async status(id: string): Promise<BatchStatus | undefined> {
    const k = this.keys(id);
    const h = await this.redis.hgetall(k.meta);
    const record = await this.results.get<BatchRecordBody>(id);
    if (!h.createdAt) {
      if (!record?.result.body) return undefined;
      // Keys expired but the record is still there: rebuild the status from it.
      const b = record.result.body;
      return {
        batchId: id,
        bucket: b.bucket,
        prefix: b.prefix,
        createdAt: record.finishedAt - b.durationMs,
        sealed: true,
        cancelled: false,
        members: b.files - b.skipped,
        done: b.files - b.skipped,
        succeeded: b.succeeded,
        failed: b.failed,
        skipped: b.skipped,
        refused: 0,
        bytesTotal: b.bytes,
        bytesDone: b.bytes,
        record,
      };
    }
    return {
      batchId: id,
      bucket: h.bucket ?? '',
      prefix: h.prefix ?? '',
      createdAt: num(h.createdAt),
      sealed: h.sealed === '1',
      cancelled: h.cancelled === '1',
      members: num(h.members),
      done: num(h.done),
      succeeded: num(h.succeeded),
      failed: num(h.failed) + num(h.refused),
      skipped: num(h.skipped),
      refused: num(h.refused),
      bytesTotal: num(h.bytes),
      bytesDone: num(h.bytesDone),
      ...(record ? { record } : {}),
    };
  }

  /** True when the batch is sealed and every member has its record. */
  static isComplete(s: BatchStatus): boolean {
    return s.sealed && s.done >= s.members;
  }

  /**
   * Writes the batch record (once) from the counters and closes the batch. Safe to call again, or
   * from several processes: the record is write-once.
   */
  async finalize(id: string): Promise<StoredResult<BatchRecordBody> | undefined> {
    const status = await this.status(id);
    if (!status) return undefined;
    if (status.record) return status.record;
    if (!BatchStore.isComplete(status)) return undefined;
    const k = this.keys(id);
    const [errors, failuresRaw] = await Promise.all([this.redis.hgetall(k.errors), this.redis.lrange(k.failures, 0, 99)]);
    const finishedAt = Date.now();
    const durationMs = Math.max(1, finishedAt - status.createdAt);
    const files = status.members + status.skipped + status.refused;
    const body: BatchRecordBody = {
      batchId: id,
      bucket: status.bucket,
      prefix: status.prefix,
      files,
      succeeded: status.succeeded,
      failed: status.failed,
      skipped: status.skipped,
      bytes: status.bytesDone,
      durationMs,
      mibPerSec: Math.round((status.bytesDone / 1024 / 1024 / (durationMs / 1000)) * 100) / 100,
      errorCounts: Object.fromEntries(Object.entries(errors).map(([c, n]) => [c, Number(n)])),
      failures: failuresRaw.map((f) => JSON.parse(f) as BatchFailure),
    };
    const result: GetResult<BatchRecordBody> =
      status.failed === 0
        ? makeGetResult({ status: 200, reason: 'OK', body })
        : {
            ...makeGetResult({ status: 207, reason: 'Multi-Status', body }),
            errorCode: 'OBSQ_BATCH_PARTIAL',
            errorMessage: `${status.failed} of ${files} files failed`,
            resource: `${status.bucket}/${status.prefix}`,
          };
    await this.results.writeOnce({ jobId: id, queue: 'batch', attempts: 1, result, finishedAt });
    await this.redis.zrem(k.open, id);
    for (const key of [k.meta, k.members, k.done, k.errors, k.failures, k.failed, k.skipped, k.refused]) await this.redis.expire(key, this.retentionSeconds);
    return this.results.get<BatchRecordBody>(id);
  }

  /** Members without a record yet. */
  async unfinishedMembers(id: string): Promise<string[]> {
    const k = this.keys(id);
    return this.redis.sdiff(k.members, k.done);
  }

  /** Marks the batch cancelled: a producer still enqueueing it stops at its next chunk. */
  async markCancelled(id: string): Promise<void> {
    await this.redis.hset(this.keys(id).meta, 'cancelled', '1');
  }

  /** Every failed member (not the items refused at enqueue), for `obsq batch retry`. */
  async failedMembers(id: string): Promise<BatchFailure[]> {
    const h = await this.redis.hgetall(this.keys(id).failed);
    return Object.values(h).map((v) => JSON.parse(v) as BatchFailure);
  }

  /** Ids of batches not yet finished, oldest first. */
  async openBatches(limit = 100): Promise<string[]> {
    return this.redis.zrange(this.keys('').open, 0, limit - 1);
  }
}
