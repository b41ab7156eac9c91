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
    const full: StoredResult = { ...record, finishedAt: record.finishedAt ?? Date.now() };
    const json = JSON.stringify(full);
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
    return written === 1;
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
