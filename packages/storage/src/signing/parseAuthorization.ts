/** Parts of an OBS native or AWS V2 signature. */
export interface ParsedAuthV2 {
  mode: 'obs' | 'v2';
  accessKeyId: string;
  signature: string;
}

/** Parts of an AWS SigV4 signature. */
export interface ParsedAuthV4 {
  mode: 'v4';
  accessKeyId: string;
  credentialScope: { date: string; region: string; service: string };
  signedHeaders: string[];
  signature: string;
}

/** A parsed Authorization header or presigned query. */
export type ParsedAuthorization = ParsedAuthV2 | ParsedAuthV4;

/**
 * Parses an incoming `Authorization` header value (`OBS AK:sig`, `AWS AK:sig`,
 * `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`).
 * Returns undefined when it is none of those or is malformed.
 */
export function parseAuthorization(value: string): ParsedAuthorization | undefined {
  const trimmed = value.trim();
  const space = trimmed.indexOf(' ');
  if (space < 0) return undefined;
  const scheme = trimmed.slice(0, space);
  const rest = trimmed.slice(space + 1).trim();
  if (scheme === 'OBS' || scheme === 'AWS') {
    const colon = rest.lastIndexOf(':');
    if (colon <= 0 || colon === rest.length - 1 || /\s/.test(rest)) return undefined;
    return { mode: scheme === 'OBS' ? 'obs' : 'v2', accessKeyId: rest.slice(0, colon), signature: rest.slice(colon + 1) };
  }
  if (scheme !== 'AWS4-HMAC-SHA256') return undefined;
  const parts = new Map<string, string>();
  for (const piece of rest.split(',')) {
    const eq = piece.indexOf('=');
    if (eq < 0) return undefined;
    parts.set(piece.slice(0, eq).trim(), piece.slice(eq + 1).trim());
  }
  const credential = parts.get('Credential');
  const signedHeaders = parts.get('SignedHeaders');
  const signature = parts.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) return undefined;
  return v4Parts(credential, signedHeaders, signature);
}

/**
 * Parses presigned-URL authentication from a decoded query: OBS (`AccessKeyId`, `Expires`,
 * `Signature`), V2 (`AWSAccessKeyId`, ...) or V4 (`X-Amz-Algorithm`, ...). Returns undefined when
 * the query carries no (or incomplete) query authentication.
 */
export function parsePresignedQuery(
  query: ReadonlyArray<readonly [string, string | null]>,
):
  | (ParsedAuthV2 & { expires: number })
  | (ParsedAuthV4 & { amzDate: string; expiresSeconds: number })
  | undefined {
  const get = (name: string): string | undefined => {
    for (const [k, v] of query) if (k === name) return v ?? '';
    return undefined;
  };
  if (get('X-Amz-Algorithm') !== undefined) {
    if (get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return undefined;
    const credential = get('X-Amz-Credential');
    const signedHeaders = get('X-Amz-SignedHeaders');
    const signature = get('X-Amz-Signature');
    const amzDate = get('X-Amz-Date');
    const expires = Number(get('X-Amz-Expires'));
    if (credential === undefined || signedHeaders === undefined || signature === undefined || amzDate === undefined) return undefined;
    if (!Number.isInteger(expires)) return undefined;
    const parts = v4Parts(credential, signedHeaders, signature);
    return parts && { ...parts, amzDate, expiresSeconds: expires };
  }
  const signature = get('Signature');
  const expires = Number(get('Expires'));
  if (signature === undefined || !Number.isInteger(expires)) return undefined;
  const obsAk = get('AccessKeyId');
  const awsAk = get('AWSAccessKeyId');
  if (obsAk !== undefined) return { mode: 'obs', accessKeyId: obsAk, signature, expires };
  if (awsAk !== undefined) return { mode: 'v2', accessKeyId: awsAk, signature, expires };
  return undefined;
}

function v4Parts(credential: string, signedHeaders: string, signature: string): ParsedAuthV4 | undefined {
  const c = credential.split('/');
  if (c.length !== 5 || c[4] !== 'aws4_request' || !/^\d{8}$/.test(c[1]!)) return undefined;
  if (signedHeaders === '' || signature === '') return undefined;
  return {
    mode: 'v4',
    accessKeyId: c[0]!,
    credentialScope: { date: c[1]!, region: c[2]!, service: c[3]! },
    signedHeaders: signedHeaders.split(';').map((h) => h.trim().toLowerCase()),
    signature,
  };
}
