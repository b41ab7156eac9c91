import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { makeGetResult, ObsqError } from '@obsq/shared';
import { toUnrecoverable } from './workerRuntime.js';

describe('toUnrecoverable', () => {
  it('keeps the ObsqError code, the cause and the record of a permanent failure', () => {
    const result = makeGetResult({ status: 403, reason: 'Forbidden', errorCode: 'AccessDenied', errorMessage: 'no' });
    const err = Object.assign(new ObsqError('OBSQ_STORAGE', 'PutObject failed', { permanent: true }), { result });
    const u = toUnrecoverable(err);
    expect(u).toBeInstanceOf(UnrecoverableError);
    expect(u.name).toBe('UnrecoverableError');
    expect(u.message).toBe('PutObject failed');
    expect((u as unknown as { code: string }).code).toBe('OBSQ_STORAGE');
    expect(u.cause).toBe(err);
    expect((u as unknown as { result: unknown }).result).toBe(result);
  });

  it('adds no code when the error has none', () => {
    const u = toUnrecoverable(new Error('plain'));
    expect('code' in u).toBe(false);
    expect(u.cause).toBeInstanceOf(Error);
  });

  it('starts the reason with the record code when given (the failedReason operators see), once', () => {
    const err = new ObsqError('OBSQ_SOURCE_CHANGED', 'source.path: file is 0 bytes', { permanent: true });
    expect(toUnrecoverable(err, 'OBSQ_SOURCE_CHANGED').message).toBe('OBSQ_SOURCE_CHANGED: source.path: file is 0 bytes');
    const already = new Error('NoSuchKey: gone');
    expect(toUnrecoverable(already, 'NoSuchKey').message).toBe('NoSuchKey: gone');
  });
});
