import { isIP } from 'node:net';
import { S3Error } from '../errors/index.js';

/** Checks a bucket name against the OBS rules (seed §5); throws `InvalidBucketName`. */
export function assertBucketName(name: string): void {
  const ok =
    name.length >= 3 &&
    name.length <= 63 &&
    /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !name.includes('.-') &&
    !name.includes('-.') &&
    isIP(name) === 0;
  if (!ok) throw new S3Error('InvalidBucketName', `The specified bucket is not valid: ${name}`);
}

/** Maximum object key length in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/** Checks an object key (non-empty, at most 1024 UTF-8 bytes). */
export function assertObjectKey(key: string): void {
  if (key.length === 0) throw new S3Error('InvalidArgument', 'Object key must not be empty.');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new S3Error('KeyTooLongError');
}
