import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { filePinOf, sourceUrlIssues, ValidationError, type FilePin, type UrlClient } from '@obsq/shared';

/** Where an upload's bytes come from. */
export type UploadSource = { kind: 'file'; path: string } | { kind: 'url'; url: string };

/** A source as probed at enqueue: its size and, for URLs, the validator each part checks. */
export type ProbedSource =
  | { kind: 'file'; path: string; size: number; pin: FilePin }
  | { kind: 'url'; url: string; size: number; etag?: string; lastModified?: string };

/**
 * Takes the size and the pin (for files: size, mtime, inode, device; for URLs: the validator) once,
 * at enqueue; every worker read re-checks it. File paths are made absolute: the
 * workers that read them must see the same path (shared storage).
 */
export async function probeSource(source: UploadSource, urls: UrlClient, signal?: AbortSignal): Promise<ProbedSource> {
  if (source.kind === 'file') {
    const path = isAbsolute(source.path) ? source.path : resolve(source.path);
    let st;
    try {
      st = await stat(path, { bigint: true });
    } catch (cause) {
      throw new ValidationError([{ field: 'source.path', rule: `cannot read ${JSON.stringify(source.path)}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}` }], { cause });
    }
    if (!st.isFile()) throw new ValidationError([{ field: 'source.path', rule: `${JSON.stringify(source.path)} is not a regular file` }]);
    const pin = filePinOf(st);
    return { kind: 'file', path, size: pin.size, pin };
  }
  let url: URL;
  try {
    url = new URL(source.url);
  } catch (cause) {
    throw new ValidationError([{ field: 'source.url', rule: `must be an absolute http(s) URL (got ${JSON.stringify(String(source.url).slice(0, 200))})` }], { cause });
  }
  const syntax = sourceUrlIssues(source.url, 'source.url');
  if (syntax.length > 0) throw new ValidationError(syntax);
  // A one-byte range request tells the size (Content-Range) and proves Range support in one go.
  const res = await urls.request(url, { headers: { range: 'bytes=0-0' }, signal, field: 'source.url' });
  await res.body.dump().catch(() => undefined);
  const etag = typeof res.headers.etag === 'string' && !res.headers.etag.startsWith('W/') ? res.headers.etag : undefined;
  const lastModified = typeof res.headers['last-modified'] === 'string' ? res.headers['last-modified'] : undefined;
  // The URL as given is stored, not where it redirected: a redirect target often carries a signature,
  // which must not sit in Redis. Parts follow (and policy-check) the redirects again.
  const href = url.href;
  if (res.statusCode === 416) return { kind: 'url', url: href, size: 0, etag, lastModified };
  if (res.statusCode !== 206) {
    throw new ValidationError([
      { field: 'source.url', rule: `must answer Range requests with 206 Partial Content (got HTTP ${res.statusCode})` },
    ]);
  }
  const total = /\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''))?.[1];
  if (total === undefined) throw new ValidationError([{ field: 'source.url', rule: 'must report the total size in Content-Range' }]);
  if (!etag && !lastModified) {
    throw new ValidationError([{ field: 'source.url', rule: 'must send a strong ETag or Last-Modified so parts can detect a changed source' }]);
  }
  return { kind: 'url', url: href, size: Number(total), etag, lastModified };
}
