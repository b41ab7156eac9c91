/**
 * How a request is authenticated.
 * - `obs`: Huawei OBS native (`Authorization: OBS AK:sig`, `x-obs-*` headers); virtual-hosted only.
 * - `v2`: AWS signature V2 (`Authorization: AWS AK:sig`, `x-amz-*` headers).
 * - `v4`: AWS SigV4 (`AWS4-HMAC-SHA256`, `x-amz-*` headers).
 */
export type SignatureMode = 'obs' | 'v2' | 'v4';

/** Access key pair. Never log it, never put it in a job payload. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary-credential token, sent as `x-obs-security-token` / `x-amz-security-token`. */
  securityToken?: string;
}

/**
 * What gets signed. Client and server build this from the same request and call the same
 * functions, so they cannot disagree.
 */
export interface SignableRequest {
  /** HTTP verb, upper case. */
  method: string;
  /**
   * The request path exactly as sent on the wire (already percent-encoded), without the query:
   * `/my-key%20x` (virtual-hosted) or `/bucket/my-key` (path-style).
   */
  path: string;
  /** Decoded query names/values in wire order; `null` = bare name (`?uploads`). */
  query: Array<[string, string | null]>;
  /** Request headers, lower-case names. */
  headers: Record<string, string>;
  /** Bucket when virtual-hosted (the Host carries it); used for the OBS/V2 canonical resource. */
  virtualHostBucket?: string;
}
