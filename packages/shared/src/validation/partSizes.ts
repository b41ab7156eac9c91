/** Which server dialect an endpoint speaks; decides the smallest allowed part. */
export type EndpointFlavour = 'obs' | 's3';

/**
 * Per-flavour multipart limits. Huawei OBS accepts parts down to 100 KiB; S3 (and S3-compatible
 * servers such as s3rver) require 5 MiB for every part but the last.
 */
export const ENDPOINT_FLAVOURS = {
  obs: { minPartSize: 100 * 1024 },
  s3: { minPartSize: 5 * 1024 * 1024 },
} as const satisfies Record<EndpointFlavour, { minPartSize: number }>;

/** Largest single part, in bytes (5 GiB). */
export const MAX_PART_SIZE = 5 * 1024 ** 3;

/** Part size chosen when the caller gives none, in bytes (8 MiB), before raising it to fit. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
