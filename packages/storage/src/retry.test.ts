import { describe, expect, it } from 'vitest';
import { makeGetResult } from '@obsq/shared';
import { ObsqError } from '@obsq/shared';
import { backoffDelay, classifyFailure, parseRetryAfter } from './retry.js';
import { StorageError } from './storageError.js';

const result = (status: number, errorCode = '') => makeGetResult({ status, errorCode });

describe('classifyFailure: results', () => {
  it.each([
    [408, 'RequestTimeout', true],
    [400, 'RequestTimeout', true], // S3 spells it 400
    [409, 'OperationAborted', true],
    [409, 'BucketNotEmpty', false],
    [429, '', true],
    [500, 'InternalError', true],
    [502, '', true],
    [503, 'SlowDown', true],
    [503, 'ServiceUnavailable', true],
    [503, '', true], // a bare 503 (proxy or load balancer, no <Error> body) is judged by status alone
    [503, 'SomethingNew', true],
    [500, '', true],
    [501, '', false],
    [505, '', true],
    [0, '', true],
    [300, '', false],
    [499, '', false],
    [504, '', true],
    [501, 'NotImplemented', false],
    [403, 'SignatureDoesNotMatch', false],
    [403, 'AccessDenied', false],
    [403, 'RequestTimeTooSkewed', false],
    [404, 'NoSuchKey', false],
    [404, 'NoSuchUpload', false],
    [404, 'NoSuchBucket', false],
    [400, 'InvalidPart', false],
    [400, 'InvalidPartOrder', false],
    [400, 'EntityTooSmall', false],
    [400, 'BadDigest', true],
    [412, 'PreconditionFailed', false],
    [400, 'SomethingNew', false],
    [599, '', true],
  ])('%i %s → retryable %s', (status, code, retryable) => {
    expect(classifyFailure(result(status, code)).retryable).toBe(retryable);
  });

  it('a 200 with an <Error> code is judged by that code', () => {
    const r = { ...result(200), errorCode: 'InternalError' };
    expect(classifyFailure(r).retryable).toBe(true);
    expect(classifyFailure({ ...result(200), errorCode: 'InvalidPart' }).retryable).toBe(false);
    expect(classifyFailure({ ...result(200), errorCode: 'InvalidResponse' }).retryable).toBe(true);
  });

  it('a success is not a retryable failure', () => {
    expect(classifyFailure(result(200))).toEqual({ retryable: false, reason: 'not a failure' });
  });
});

describe('classifyFailure: thrown values', () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });
  it.each([
    ['ECONNRESET', true], ['ECONNREFUSED', true], ['ETIMEDOUT', true], ['EPIPE', true], ['UND_ERR_SOCKET', true],
    ['UND_ERR_HEADERS_TIMEOUT', true], ['UND_ERR_BODY_TIMEOUT', true], ['UND_ERR_CONNECT_TIMEOUT', true],
    ['UND_ERR_ABORTED', false], ['UND_ERR_CLOSED', false], ['ENOENT', false], ['UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', false],
  ])('%s → retryable %s', (code, retryable) => {
    expect(classifyFailure(withCode(code)).retryable).toBe(retryable);
  });

  it('follows the cause chain (fetch-style wrapping)', () => {
    expect(classifyFailure(new TypeError('fetch failed', { cause: withCode('ECONNRESET') })).retryable).toBe(true);
  });

  it('uses the StorageError result, or its cause when there was no response', () => {
    expect(classifyFailure(new StorageError('UploadPart', result(503, 'SlowDown'))).retryable).toBe(true);
    expect(classifyFailure(new StorageError('UploadPart', result(403, 'AccessDenied'))).retryable).toBe(false);
    const noResponse = new StorageError('UploadPart', result(0, 'ECONNREFUSED'), { cause: withCode('ECONNREFUSED') });
    expect(noResponse.permanent).toBe(false);
    expect(classifyFailure(noResponse).retryable).toBe(true);
  });

  it('obsq errors: aborts are final, others follow `permanent`', () => {
    expect(classifyFailure(new ObsqError('OBSQ_ABORTED', 'x')).retryable).toBe(false);
    expect(classifyFailure(new ObsqError('OBSQ_SOURCE', 'x', { permanent: true })).retryable).toBe(false);
    expect(classifyFailure(new ObsqError('OBSQ_SOURCE', 'x')).retryable).toBe(true);
    expect(classifyFailure(new DOMException('t', 'TimeoutError')).retryable).toBe(true);
  });

  it('StorageError carries code, permanence and the record', () => {
    const e = new StorageError('CopyObject', result(404, 'NoSuchKey'), { attempts: 1 });
    expect(e).toMatchObject({ code: 'OBSQ_STORAGE', permanent: true, operation: 'CopyObject', attempts: 1 });
    expect(e.result.errorCode).toBe('NoSuchKey');
    expect(e.message).toBe('CopyObject failed: 404 NoSuchKey');
  });
});

describe('backoffDelay', () => {
  it('grows exponentially and is capped (no jitter)', () => {
    const d = [1, 2, 3, 4, 5, 6, 30].map((a) => backoffDelay(a, { baseMs: 100, maxMs: 1000, jitter: 'none' }));
    expect(d).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it.each([
    ['full', 0, 800],
    ['equal', 400, 800],
    [0.25, 600, 800],
  ] as const)('jitter %s stays within [%i, %i] for attempt 4', (jitter, lo, hi) => {
    for (const r of [0, 0.5, 0.999999]) {
      const d = backoffDelay(4, { baseMs: 100, maxMs: 10_000, jitter, random: () => r });
      expect(d).toBeGreaterThanOrEqual(lo);
      expect(d).toBeLessThanOrEqual(hi);
    }
  });

  it('honours Retry-After up to the cap', () => {
    expect(backoffDelay(1, { baseMs: 100, maxMs: 10_000, jitter: 'none', retryAfterMs: 3000 })).toBe(3000);
    expect(backoffDelay(1, { baseMs: 100, maxMs: 10_000, jitter: 'none', retryAfterMs: 60_000 })).toBe(10_000);
    expect(backoffDelay(1, { baseMs: 100, maxMs: 10_000, jitter: 'none', retryAfterMs: 60_000, maxRetryAfterMs: 60_000 })).toBe(60_000);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-07-01T00:00:00Z');
  it.each([
    ['120', 120_000],
    [' 0 ', 0],
    ['Tue, 01 Jul 2025 00:00:30 GMT', 30_000],
    ['Mon, 30 Jun 2025 23:00:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
    [undefined, undefined],
  ])('%j → %j ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});
