import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startRedisServer, type LocalRedis } from '@obsq/devstack';
import { createRedis, makeGetResult, quitRedis, redisReady, ResultStore, type RedisClient } from '@obsq/shared';
import { waitFor } from './helpers/waitFor.js';

// The write-once result store on a real Redis: one record per job however often it is written,
// the stream entry written with it, retention, and waiting on the stream.

let redis: LocalRedis;
let client: RedisClient;
let blocking: RedisClient;
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  redis = await startRedisServer();
  client = createRedis('producer', { urls: [redis.url], cluster: false }, logger);
  blocking = createRedis('worker', { urls: [redis.url], cluster: false }, logger);
  await redisReady(client);
  await redisReady(blocking);
});

afterAll(async () => {
  await quitRedis(client);
  await quitRedis(blocking);
  await redis?.stop();
});

let n = 0;
const prefix = () => `{rs${++n}}`;
const ok = makeGetResult({ status: 200, reason: 'OK', body: { etag: '"e"' } });
/** Resolves once `waitFor` sits in XREAD BLOCK, so a write after this can only be seen on the stream. */
const blocked = () =>
  waitFor(async () => /blocked_clients:1\r?\n/.test(await client.info('clients')), { timeoutMs: 5_000, what: 'waitFor blocked on the stream' });
const failed = makeGetResult({ status: 404, errorCode: 'NoSuchKey', errorMessage: 'gone' });

describe('ResultStore', () => {
  it('writes once: the second write is refused and changes nothing; the stream gets one entry', async () => {
    const store = new ResultStore({ redis: client, prefix: prefix() });
    expect(store.streamKey).toBe(`{rs${n}}:results`);
    expect(store.key('7')).toBe(`{rs${n}}:result:7`);
    expect(await store.get('7')).toBeUndefined();
    expect(await store.writeOnce({ jobId: '7', queue: 'upload-part', parentId: 'p1', attempts: 2, result: failed, finishedAt: 1234 })).toBe(true);
    expect(await store.writeOnce({ jobId: '7', queue: 'upload-part', attempts: 3, result: ok })).toBe(false);
    expect(await store.get('7')).toEqual({ jobId: '7', queue: 'upload-part', parentId: 'p1', attempts: 2, result: failed, finishedAt: 1234 });
    const entries = await client.xrange(store.streamKey, '-', '+');
    expect(entries).toHaveLength(1);
    const fields = entries[0]![1];
    expect(fields.slice(0, 10)).toEqual(['jobId', '7', 'queue', 'upload-part', 'status', '404', 'errorCode', 'NoSuchKey', 'parentId', 'p1']);
    expect(JSON.parse(fields[11]!)).toEqual(await store.get('7'));
  });

  it('stamps finishedAt, leaves parentId empty for roots, and keeps records for the retention', async () => {
    const store = new ResultStore({ redis: client, prefix: prefix(), retentionSeconds: 100 });
    const before = Date.now();
    await store.writeOnce({ jobId: 'root', queue: 'copy-object', attempts: 1, result: ok });
    const rec = await store.get('root');
    expect(rec!.finishedAt).toBeGreaterThanOrEqual(before);
    expect(rec!.finishedAt).toBeLessThanOrEqual(Date.now());
    expect(rec!.parentId).toBeUndefined();
    const ttl = await client.ttl(store.key('root'));
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
    const [[, fields]] = (await client.xrange(store.streamKey, '-', '+')) as [[string, string[]]];
    expect(fields.slice(0, 10)).toEqual(['jobId', 'root', 'queue', 'copy-object', 'status', '200', 'errorCode', '', 'parentId', '']);
    // The default retention is 7 days.
    const seven = new ResultStore({ redis: client, prefix: prefix() });
    await seven.writeOnce({ jobId: 'x', queue: 'copy-object', attempts: 1, result: ok });
    expect(await client.ttl(seven.key('x'))).toBeGreaterThan(7 * 24 * 3600 - 10);
  });

  it('caps the stream near streamMaxLen', async () => {
    const store = new ResultStore({ redis: client, prefix: prefix(), streamMaxLen: 10 });
    for (let i = 0; i < 300; i++) await store.writeOnce({ jobId: `j${i}`, queue: 'upload-part', attempts: 1, result: ok });
    const len = await client.xlen(store.streamKey);
    expect(len).toBeLessThan(300);
    expect(len).toBeGreaterThanOrEqual(10);
  });

  it('validates its options', () => {
    expect(() => new ResultStore({ redis: client, prefix: '{x}', retentionSeconds: 0 })).toThrow('retentionSeconds must be a positive integer');
    expect(() => new ResultStore({ redis: client, prefix: '{x}', retentionSeconds: 1.5 })).toThrow('retentionSeconds must be a positive integer');
    expect(() => new ResultStore({ redis: client, prefix: '{x}', streamMaxLen: 0 })).toThrow('streamMaxLen must be a positive integer');
    expect(() => new ResultStore({ redis: client, prefix: '{x}', streamMaxLen: 2.5 })).toThrow('streamMaxLen must be a positive integer');
    expect(() => new ResultStore({ redis: client, prefix: '{x}', retentionSeconds: 1, streamMaxLen: 1 })).not.toThrow();
  });

  it('waitFor returns a record written before, or while, it waits; undefined at the deadline', async () => {
    const store = new ResultStore({ redis: client, prefix: prefix() });
    await store.writeOnce({ jobId: 'early', queue: 'upload-part', attempts: 1, result: ok });
    expect((await store.waitFor('early', blocking, { timeoutMs: 1_000 }))?.jobId).toBe('early');

    // Other jobs' entries go by; the one asked for arrives later.
    const waiting = store.waitFor<{ etag: string }>('late', blocking, { timeoutMs: 10_000 });
    await blocked();
    await store.writeOnce({ jobId: 'other', queue: 'upload-part', attempts: 1, result: failed });
    await store.writeOnce({ jobId: 'late', queue: 'upload-part', attempts: 1, result: ok });
    const late = await waiting;
    expect(late).toMatchObject({ jobId: 'late', result: { status: 200, body: { etag: '"e"' } } });

    const t0 = Date.now();
    expect(await store.waitFor('never', blocking, { timeoutMs: 300 })).toBeUndefined();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it('waitFor takes the record from the stream entry when the key is gone, skipping other jobs and entries without a record', async () => {
    const store = new ResultStore({ redis: client, prefix: prefix() });
    const waiting = store.waitFor<{ etag: string }>('short', blocking, { timeoutMs: 10_000 });
    await blocked();
    // Entries as XADD would leave them had the record's key already expired: only the stream has them.
    const rec = { jobId: 'short', queue: 'upload-part', attempts: 1, finishedAt: 1, result: ok };
    await client.xadd(store.streamKey, '*', 'jobId', 'other', 'queue', 'upload-part', 'record', JSON.stringify({ ...rec, jobId: 'other' }));
    await client.xadd(store.streamKey, '*', 'jobId', 'short', 'queue', 'upload-part');
    await client.xadd(store.streamKey, '*', 'queue', 'upload-part', 'record', JSON.stringify({ ...rec, jobId: 'nameless' }));
    await client.xadd(store.streamKey, '*', 'jobId', 'short', 'queue', 'upload-part', 'record', JSON.stringify(rec));
    expect(await waiting).toEqual(rec);
    expect(await store.get('short')).toBeUndefined();
  });

  it('waitFor stops when its signal is aborted', async () => {
    const store = new ResultStore({ redis: client, prefix: prefix() });
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(store.waitFor('never', blocking, { timeoutMs: 5_000, signal: ac.signal })).rejects.toThrow('stop');
  });
});
