import { ValidationError } from '@obsq/shared';

/** Parses `obs://bucket/key` (also `s3://`); the key may be empty only when `allowPrefix`. */
export function parseObjectUrl(value: string, field: string, { allowPrefix = false } = {}): { bucket: string; key: string } {
  const m = /^(?:obs|s3):\/\/([^/]+)\/?(.*)$/.exec(value);
  if (!m) throw new ValidationError([{ field, rule: `must look like obs://bucket/key (got ${JSON.stringify(value)})` }]);
  const [, bucket, key] = m as unknown as [string, string, string];
  if (!allowPrefix && key === '') throw new ValidationError([{ field, rule: 'must name an object key after the bucket' }]);
  return { bucket, key };
}
