/**
 * RFC 3986 percent-encoding of one component: everything but `A-Z a-z 0-9 - _ . ~` is encoded
 * (UTF-8). This is what OBS, S3 (SigV4 `UriEncode`) and both OBS SDKs use.
 */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Encodes an object key for the request path: like {@link encodeRfc3986} but `/` is kept. */
export function encodeKey(key: string): string {
  return key.split('/').map(encodeRfc3986).join('/');
}

/** Serialises a query list as sent on the wire (`a=1&uploads`); `null` values are bare names. */
export function formatQuery(query: ReadonlyArray<readonly [string, string | null]>): string {
  return query
    .map(([k, v]) => (v === null ? encodeRfc3986(k) : `${encodeRfc3986(k)}=${encodeRfc3986(v)}`))
    .join('&');
}

/**
 * Parses a raw query string (without `?`) into decoded pairs, keeping bare names as `null`.
 * `+` is a literal plus here, as in S3/OBS (not form encoding).
 */
export function parseQuery(raw: string): Array<[string, string | null]> {
  return raw.split('&').filter((p) => p !== '').map((part) => {
    const eq = part.indexOf('=');
    if (eq < 0) return [safeDecode(part), null];
    return [safeDecode(part.slice(0, eq)), safeDecode(part.slice(eq + 1))];
  });
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
