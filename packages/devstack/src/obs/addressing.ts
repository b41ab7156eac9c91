import { S3Error } from '../errors/index.js';

/** Where a request points: a bucket and key, and whether the bucket came from the Host. */
export interface Address {
  bucket?: string;
  /** Decoded object key; undefined for bucket- or service-level requests. */
  key?: string;
  /** Set for virtual-hosted requests (`bucket.localhost:PORT`): the bucket from the Host header. */
  virtualHostBucket?: string;
}

/** Host name without port, lower-cased (`[::1]:80` → `::1`). */
export function hostName(hostHeader: string | undefined): string {
  const host = (hostHeader ?? '').trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon >= 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch (err) {
    throw new S3Error({ code: 'InvalidURI', status: 400 }, 'Could not parse the specified URI.', { cause: err });
  }
}

/**
 * Resolves path-style (`/bucket/key`) and virtual-hosted (`Host: bucket.<base>`) addressing.
 * A Host is virtual-hosted when it ends with `.<base>` for one of `baseHosts` (longest match).
 */
export function resolveAddress(hostHeader: string | undefined, rawPath: string, baseHosts: readonly string[]): Address {
  const name = hostName(hostHeader);
  // Longest base wins, so `b.obs.localhost` is bucket `b` under `obs.localhost`, not `b.obs`.
  const base = baseHosts
    .filter((b) => name.endsWith(`.${b}`) && name.length > b.length + 1)
    .sort((a, b) => b.length - a.length)[0];
  if (base) {
    const bucket = name.slice(0, name.length - base.length - 1);
    const rest = rawPath.replace(/^\//, '');
    return { bucket, virtualHostBucket: bucket, ...(rest ? { key: decodeSegment(rest) } : {}) };
  }
  const trimmed = rawPath.replace(/^\//, '');
  if (!trimmed) return {};
  const slash = trimmed.indexOf('/');
  if (slash < 0) return { bucket: decodeSegment(trimmed) };
  const bucket = decodeSegment(trimmed.slice(0, slash));
  const rest = trimmed.slice(slash + 1);
  return rest ? { bucket, key: decodeSegment(rest) } : { bucket };
}
