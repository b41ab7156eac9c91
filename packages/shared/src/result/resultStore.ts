import type { Cluster, Redis } from 'ioredis';
import type { GetResult } from '../result/getResult.js';

/** A finished job's record as stored in Redis and appended to the results stream. */
export interface StoredResult<Body = unknown> {
  /** BullMQ job id. */
  jobId: string;
  /** Queue (= job name) the job ran in. */
  queue: string;
  /** Parent job id for flow children (upload parts, copy parts); absent for roots. */
  parentId?: string;
  /** Attempts made when the job ended (1 = first try). */
  attempts: number;
  /** Epoch milliseconds when the record was written. */
  finishedAt: number;
  /** The GetResult record. */
  result: GetResult<Body>;
}

/** Options of {@link ResultStore}. */
export interface ResultStoreOptions {
  /** ioredis connection (standalone or cluster). Not closed by the store. */
  redis: Redis | Cluster;
  /** Hash-tagged key prefix shared with the queues, e.g. `{obsq}`. */
  prefix: string;
  /**
   * How long a record stays readable by job id, in seconds.
   * @defaultValue 604800 (7 days)
   */
  retentionSeconds?: number;
  /**
   * Approximate maximum length of the results stream (`XADD MAXLEN ~`).
   * @defaultValue 100000
   */
  streamMaxLen?: number;
}

// One record per job, ever: the record and the stream entry are written together, and only if no
// record exists yet. A job that reruns after a crash (stalled) or whose failure is reported both by
// the processor and by the `failed` event writes nothing the second time.
const WRITE_ONCE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
redis.call('XADD', KEYS[2], 'MAXLEN', '~', tonumber(ARGV[3]), '*',
  'jobId', ARGV[4], 'queue', ARGV[5], 'status', ARGV[6], 'errorCode', ARGV[7], 'parentId', ARGV[8], 'record', ARGV[1])
return 1
`;

// The same, for a file of a batch: in the same script (so exactly once, whatever crashes), the
// batch's counters, error counts and failure list are updated. Returns 2 when this record made a
// sealed batch complete: the caller then writes the batch's own record.
const WRITE_ONCE_BATCH = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
redis.call('XADD', KEYS[2], 'MAXLEN', '~', tonumber(ARGV[3]), '*',
  'jobId', ARGV[4], 'queue', ARGV[5], 'status', ARGV[6], 'errorCode', ARGV[7], 'parentId', ARGV[8], 'record', ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 0 then return 1 end
if redis.call('SADD', KEYS[4], ARGV[4]) == 1 then
  redis.call('HINCRBY', KEYS[3], 'done', 1)
  if ARGV[9] == '1' then
    redis.call('HINCRBY', KEYS[3], 'succeeded', 1)
    redis.call('HINCRBY', KEYS[3], 'bytesDone', tonumber(ARGV[10]))
  else
    redis.call('HINCRBY', KEYS[3], 'failed', 1)
    redis.call('HINCRBY', KEYS[5], ARGV[7], 1)
    redis.call('HSET', KEYS[7], ARGV[4], ARGV[11])
    if redis.call('LLEN', KEYS[6]) < 100 then redis.call('RPUSH', KEYS[6], ARGV[11]) end
  end
end
local st = redis.call('HMGET', KEYS[3], 'sealed', 'members', 'done')
if st[1] == '1' and tonumber(st[3] or '0') >= tonumber(st[2] or '0') then return 2 end
return 1
`;

/** A file's membership in a batch, passed to {@link ResultStore.writeOnce}. */
export interface BatchMembership {
  /** Batch id. */
  id: string;
  /** Object key of the file. */
  key: string;
  /** The source as the batch named it (path or URL). */
  item: string;
  /** Bytes stored, for a success. */
  bytes: number;
}

/** One failed file as kept in a batch (and listed, the first 100, in the batch record). */
export interface BatchFailure {
  key: string;
  source: string;
  /** Job id of the file ('' for an item refused before it was enqueued). */
  jobId: string;
  errorCode: string;
  errorMessage: string;
  /** 1-based manifest line, for items refused at enqueue. */
  line?: number;
}

/** Redis keys of one batch; they share the queues' hash tag. */
export function batchKeys(prefix: string, id: string) {
  const base = `${prefix}:batch:${id}`;
  return {
    /** Hash: bucket, prefix, createdAt, members, skipped, refused, done, succeeded, failed, bytes, bytesDone, sealed. */
    meta: base,
    /** Set of member job ids (enqueued). */
    members: `${base}:members`,
    /** Set of member job ids whose record exists. */
    done: `${base}:done`,
    /** Hash errorCode → count. */
    errors: `${base}:errors`,
    /** List of the first 100 failures (JSON {@link BatchFailure}). */
    failures: `${base}:failures`,
    /** Hash job id → JSON {@link BatchFailure} of every failed member (for retry). */
    failed: `${base}:failed`,
    /** Set of job ids of files skipped as already stored. */
    skipped: `${base}:skipped`,
    /** Set of items refused at enqueue (`line|key|source`). */
    refused: `${base}:refused`,
    /** Sorted set of open batch ids by creation time (one for the whole prefix). */
    open: `${prefix}:batches:open`,
  };
}

/**
 * GetResult records by job id plus the `<prefix>:results` Redis Stream that downstream pipelines
 * consume with consumer groups. Keys share the queues' hash tag, so the Lua write stays in one slot
 * on Redis Cluster.
 */
export class ResultStore {
  readonly streamKey: string;
  private readonly redis: Redis | Cluster;
  private readonly prefix: string;
  private readonly retentionSeconds: number;
  private readonly streamMaxLen: number;

  constructor(options: ResultStoreOptions) {
    const opts = { retentionSeconds: 7 * 24 * 3600, streamMaxLen: 100_000, ...options };
    if (!Number.isInteger(opts.retentionSeconds) || opts.retentionSeconds <= 0) {
      throw new TypeError('retentionSeconds must be a positive integer');
    }
    if (!Number.isInteger(opts.streamMaxLen) || opts.streamMaxLen <= 0) {
      throw new TypeError('streamMaxLen must be a positive integer');
    }
    this.redis = opts.redis;
    this.prefix = opts.prefix;
    this.retentionSeconds = opts.retentionSeconds;
    this.streamMaxLen = opts.streamMaxLen;
    this.streamKey = `${this.prefix}:results`;
  }

  /** Redis key of one job's record. */
  key(jobId: string): string {
    return `${this.prefix}:result:${jobId}`;
  }

  /** Writes the record unless one exists; returns true when this call wrote it. */
  async writeOnce(record: Omit<StoredResult, 'finishedAt'> & { finishedAt?: number }): Promise<boolean> {
    return (await this.writeOnceInBatch(record, undefined)) !== 0;
  }

  /**
   * Writes the record unless one exists, and counts it toward its batch in the same step.
   * @returns 0 when a record existed, 1 when written, 2 when written and it completed its sealed batch
   */
  async writeOnceInBatch(record: Omit<StoredResult, 'finishedAt'> & { finishedAt?: number }, batch: BatchMembership | undefined): Promise<0 | 1 | 2> {
    const full: StoredResult = { ...record, finishedAt: record.finishedAt ?? Date.now() };
    const json = JSON.stringify(full);
    if (batch) {
      const k = batchKeys(this.prefix, batch.id);
      const ok = full.result.status >= 200 && full.result.status < 300;
      const failure: BatchFailure = {
        key: batch.key,
        source: batch.item,
        jobId: full.jobId,
        errorCode: full.result.errorCode || 'OBSQ_INTERNAL',
        errorMessage: full.result.errorMessage.slice(0, 1000),
      };
      const written = await this.redis.eval(
        WRITE_ONCE_BATCH,
        7,
        this.key(full.jobId),
        this.streamKey,
        k.meta,
        k.done,
        k.errors,
        k.failures,
        k.failed,
        json,
        String(this.retentionSeconds),
        String(this.streamMaxLen),
        full.jobId,
        full.queue,
        String(full.result.status),
        full.result.errorCode || (ok ? '' : 'OBSQ_INTERNAL'),
        full.parentId ?? '',
        ok ? '1' : '0',
        String(ok ? batch.bytes : 0),
        JSON.stringify(failure),
      );
      return written as 0 | 1 | 2;
    }
    const written = await this.redis.eval(
      WRITE_ONCE,
      2,
      this.key(full.jobId),
      this.streamKey,
      json,
      String(this.retentionSeconds),
      String(this.streamMaxLen),
      full.jobId,
      full.queue,
      String(full.result.status),
      full.result.errorCode,
      full.parentId ?? '',
    );
    return written === 1 ? 1 : 0;
  }

  /** The record of `jobId`, or undefined when the job has not ended (or the record expired). */
  async get<Body = unknown>(jobId: string): Promise<StoredResult<Body> | undefined> {
    const raw = await this.redis.get(this.key(jobId));
    return raw === null ? undefined : (JSON.parse(raw) as StoredResult<Body>);
  }

  /**
   * Waits for the record of `jobId`, blocking on the results stream (no polling loop).
   * `blocking` must be a connection of its own: XREAD BLOCK holds it.
   */
  async waitFor<Body = unknown>(
    jobId: string,
    blocking: Redis | Cluster,
    { timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<StoredResult<Body> | undefined> {
    const deadline = Date.now() + timeoutMs;
    // Read the stream's tail id before looking for the record so no write can slip between the two.
    const tail = await this.redis.xrevrange(this.streamKey, '+', '-', 'COUNT', 1);
    let lastId = tail[0]?.[0] ?? '0-0';
    for (;;) {
      const found = await this.get<Body>(jobId);
      if (found) return found;
      signal?.throwIfAborted();
      const remaining = deadline - Date.now();
      if (remaining <= 0) return undefined;
      const reply = (await blocking.xread('COUNT', 1000, 'BLOCK', Math.min(remaining, 2000), 'STREAMS', this.streamKey, lastId)) as
        | Array<[string, Array<[string, string[]]>]>
        | null;
      const entries = reply?.[0]?.[1] ?? [];
      for (const [id, fields] of entries) {
        lastId = id;
        const idx = fields.indexOf('jobId');
        if (idx >= 0 && fields[idx + 1] === jobId) {
          // indexOf is -1 for an entry without a record: never read fields[0] as one.
          const at = fields.indexOf('record');
          const rec = at >= 0 ? fields[at + 1] : undefined;
          if (rec) return JSON.parse(rec) as StoredResult<Body>;
        }
      }
    }
  }
}
