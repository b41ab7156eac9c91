import { describe, expect, it } from 'vitest';
import { makeGetResult } from '@obsq/shared';
import { ObsqError } from '@obsq/shared';
import { backoffDelay, classifyFailure, lookupRetryRule, parseRetryAfter, retryAfterMsOf } from './retry.js';
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

/*
 * The retry table pinned row by row, from obs-api.md §4 and §9: a change to the table must change
 * this list too, on purpose. Reasons are asserted exactly because they end up in logs and in
 * StorageError.details.reason, where operators read them.
 */
describe('STORAGE_RETRY_RULES, row by row', () => {
  const thrown = (code: string) => Object.assign(new Error(code), { code });
  const TRANSPORT = [
    'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH',
    'EHOSTUNREACH', 'ENETDOWN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT', 'UND_ERR_RESPONSE_STATUS_CODE', 'OBSQ_NETWORK', 'OBSQ_TIMEOUT', 'TimeoutError',
  ];
  const LOCAL = [
    'ABORT_ERR', 'AbortError', 'UND_ERR_ABORTED', 'OBSQ_ABORTED', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED',
    'OBSQ_CLOSED', 'UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
    'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'OBSQ_VALIDATION',
    'OBSQ_SOURCE_CHANGED', 'OBSQ_CONFIG_INVALID',
  ];
  const RETRYABLE_SERVER: Array<[string, string]> = [
    ['SlowDown', 'throttled (SlowDown)'],
    ['ServiceUnavailable', 'service unavailable'],
    ['InternalError', 'server internal error'],
    ['RequestTimeout', 'server timed out reading the request'],
    ['OperationAborted', 'conflicting operation in progress'],
    ['IncompleteBody', 'body not fully received'],
    ['BadDigest', 'Content-MD5 mismatch (corrupted in transit?)'],
  ];
  const PERMANENT_SERVER = [
    'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'RequestTimeTooSkewed', 'NoSuchKey',
    'NoSuchUpload', 'NoSuchBucket', 'NoSuchVersion', 'InvalidPart', 'InvalidPartOrder', 'EntityTooSmall',
    'EntityTooLarge', 'InvalidArgument', 'InvalidRequest', 'MalformedXML', 'InvalidBucketName',
    'KeyTooLongError', 'InvalidObjectState', 'PreconditionFailed', 'InvalidRange', 'MethodNotAllowed',
    'NotImplemented', 'ServiceNotImplemented', 'BucketAlreadyExists', 'BucketNotEmpty', 'MissingContentLength',
  ];

  it.each(TRANSPORT)('thrown %s is a retryable transport error', (code) => {
    expect(classifyFailure(thrown(code))).toEqual({ retryable: true, reason: `transport error ${code}` });
  });

  it.each(LOCAL)('thrown %s is a local error, never retried', (code) => {
    expect(classifyFailure(thrown(code))).toEqual({ retryable: false, reason: `local error ${code}` });
  });

  it.each(RETRYABLE_SERVER)('server code %s is retried (%s), whatever the status', (code, reason) => {
    expect(classifyFailure(result(400, code))).toEqual({ retryable: true, reason });
    expect(classifyFailure({ ...result(200), errorCode: code })).toEqual({ retryable: true, reason });
  });

  it.each(PERMANENT_SERVER)('server code %s is permanent, even on a 5xx', (code) => {
    expect(classifyFailure(result(503, code))).toEqual({ retryable: false, reason: `permanent error ${code}` });
  });

  it.each([
    [0, true, 'no response'],
    [408, true, 'request timeout (408)'],
    [429, true, 'too many requests (429)'],
    [500, true, 'server error (500)'],
    [501, false, 'not implemented (501)'],
    [502, true, 'bad gateway (502)'],
    [503, true, 'service unavailable (503)'],
    [504, true, 'gateway timeout (504)'],
    [505, true, 'server error (5xx)'],
    [599, true, 'server error (5xx)'],
    [300, false, 'client error'],
    [404, false, 'client error'],
    [499, false, 'client error'],
  ] as const)('status %i without a code → retryable %s (%s)', (status, retryable, reason) => {
    expect(classifyFailure(result(status))).toEqual({ retryable, reason });
  });

  it('statuses outside every row are not retried', () => {
    expect(classifyFailure(result(600))).toEqual({ retryable: false, reason: 'unexpected status 600' });
    expect(classifyFailure(result(199))).toEqual({ retryable: false, reason: 'unexpected status 199' });
    expect(classifyFailure({ ...result(299), errorCode: 'SomethingNew' })).toEqual({ retryable: true, reason: 'server error (500)' });
    expect(classifyFailure({ ...result(299), errorCode: '' })).toEqual({ retryable: false, reason: 'not a failure' });
    expect(classifyFailure(result(300))).toEqual({ retryable: false, reason: 'client error' });
  });
});

describe('classifyFailure: edges', () => {
  it('a thrown value with a result and a status answers by that result; a status-0 result looks at the error', () => {
    const withResult = Object.assign(new Error('x'), { result: result(404, 'NoSuchKey'), code: 'ECONNRESET' });
    expect(classifyFailure(withResult)).toEqual({ retryable: false, reason: 'permanent error NoSuchKey' });
    const noStatus = Object.assign(new Error('x'), { result: result(0, ''), code: 'ENOENT' });
    expect(classifyFailure(noStatus)).toEqual({ retryable: false, reason: 'local error ENOENT' });
    expect(classifyFailure(null)).toEqual({ retryable: true, reason: 'unclassified error' });
    // Only something with a numeric status and a header list is a result.
    expect(classifyFailure({ header: [], code: 'ENOENT' })).toEqual({ retryable: false, reason: 'local error ENOENT' });
    expect(classifyFailure({ status: 404, code: 'ENOENT' })).toEqual({ retryable: false, reason: 'local error ENOENT' });
    expect(classifyFailure(undefined)).toEqual({ retryable: true, reason: 'unclassified error' });
  });

  it('looks through at most five causes', () => {
    let err: unknown = Object.assign(new Error('root'), { code: 'ENOENT' });
    for (let i = 0; i < 4; i++) err = new Error(`wrap ${i}`, { cause: err });
    expect(classifyFailure(err)).toEqual({ retryable: false, reason: 'local error ENOENT' });
    err = new Error('wrap 5', { cause: err });
    expect(classifyFailure(err)).toEqual({ retryable: true, reason: 'unclassified error' });
  });

  it('obsq errors say why, by name: permanent or transient', () => {
    expect(classifyFailure(new ObsqError('OBSQ_SOURCE', 'x', { permanent: true }))).toEqual({ retryable: false, reason: 'OBSQ_SOURCE (permanent)' });
    expect(classifyFailure(new ObsqError('OBSQ_SOURCE', 'x'))).toEqual({ retryable: true, reason: 'OBSQ_SOURCE (transient)' });
    // `permanent` on something that is not an obsq error is ignored, and an obsq code without it too.
    expect(classifyFailure({ code: 'OBSQ_SOURCE' })).toEqual({ retryable: true, reason: 'unclassified error' });
    expect(classifyFailure({ code: 'OBSQ_SOURCE', permanent: 'yes' })).toEqual({ retryable: true, reason: 'unclassified error' });
    expect(classifyFailure(Object.assign(new Error('x'), { code: 'X_OTHER', permanent: true }))).toEqual({ retryable: true, reason: 'unclassified error' });
    expect(classifyFailure(Object.assign(new Error('x'), { permanent: true }))).toEqual({ retryable: true, reason: 'unclassified error' });
  });

  it('lookupRetryRule: code rows need the code, status rows the status, an empty row matches nothing', () => {
    expect(lookupRetryRule(503, undefined)?.reason).toBe('service unavailable (503)');
    expect(lookupRetryRule(undefined, 'SlowDown')?.reason).toBe('throttled (SlowDown)');
    expect(lookupRetryRule(undefined, 'Nope')).toBeUndefined();
    expect(lookupRetryRule(503, 'Nope')?.reason).toBe('service unavailable (503)');
    expect(lookupRetryRule(503, undefined, [{ retryable: true, reason: 'matches all' }])).toBeUndefined();
    expect(lookupRetryRule(undefined, undefined, [{ status: [500, 599], retryable: true, reason: 'r' }])).toBeUndefined();
    expect(lookupRetryRule(500, undefined, [{ status: [500, 599], retryable: true, reason: 'r' }])?.reason).toBe('r');
    expect(lookupRetryRule(600, undefined, [{ status: [500, 599], retryable: true, reason: 'r' }])).toBeUndefined();
  });
});

describe('backoffDelay and Retry-After: edges', () => {
  it('numeric jitter is clamped to [0, 1]; the random draw scales the jittered share', () => {
    const d = (jitter: number, r: number) => backoffDelay(1, { baseMs: 1000, maxMs: 10_000, jitter, random: () => r });
    expect(d(2, 0)).toBe(0);
    expect(d(-1, 0.5)).toBe(1000);
    expect(d(0.5, 0.5)).toBe(750);
    expect(d(1, 0.25)).toBe(250);
    expect(backoffDelay(0, { baseMs: 100, jitter: 'none' })).toBe(100);
    expect(backoffDelay(1, { jitter: 'none' })).toBe(200);
    expect(backoffDelay(20, { jitter: 'none' })).toBe(20_000);
    expect(backoffDelay(1, { baseMs: 1000, jitter: 'equal', random: () => 0 })).toBe(500);
    expect(backoffDelay(1, { baseMs: 1000, random: () => 0.5 })).toBe(500);
  });

  it('a zero or absent Retry-After leaves the delay alone', () => {
    expect(backoffDelay(1, { baseMs: 100, jitter: 'none', retryAfterMs: 0 })).toBe(100);
    expect(backoffDelay(1, { baseMs: 100, jitter: 'none', retryAfterMs: 50 })).toBe(100);
    expect(backoffDelay(1, { baseMs: 100, jitter: 'none', retryAfterMs: -5_000 })).toBe(100);
  });

  it('parseRetryAfter refuses digits with trailing junk and dates without letters', () => {
    const now = Date.parse('2025-07-01T00:00:00Z');
    expect(parseRetryAfter('12abc', now)).toBeUndefined();
    expect(parseRetryAfter('abc12', now)).toBeUndefined();
    expect(parseRetryAfter('2025-07-01', now)).toBeUndefined();
  });

  it('retryAfterMsOf reads the retry-after header of a result', () => {
    const now = Date.parse('2025-07-01T00:00:00Z');
    const r = { header: [['x-other', '9'], ['retry-after', '3']] as Array<[string, string]> };
    expect(retryAfterMsOf(r, now)).toBe(3000);
    expect(retryAfterMsOf({ header: [['x-other', '9']] }, now)).toBeUndefined();
    expect(retryAfterMsOf(undefined, now)).toBeUndefined();
  });
});
