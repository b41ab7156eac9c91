import { coerceError } from '@obsq/shared';
import {
  parseAmzDate,
  parseAuthorization,
  parsePresignedQuery,
  presignV4,
  signV2,
  signV4,
  stringToSignV2,
  timingSafeEqualStr,
  type SignableRequest,
  type SignatureMode,
} from '@obsq/storage';
import { S3Error } from '../errors/index.js';
import type { RequestContext } from './requestContext.js';

/** Credentials and clock rules the server checks against. */
export interface AuthConfig {
  accessKeyId: string;
  secretAccessKey: string;
  /** Region a V4 credential scope must name. */
  region: string;
  /**
   * Allowed distance between the request's Date / x-*-date and the server clock.
   * @defaultValue 900000 (15 min, as OBS)
   */
  maxSkewMs?: number;
}

/** How a verified request was signed. */
export interface AuthOutcome {
  mode: SignatureMode;
  presigned: boolean;
  /** V4 header auth: the `x-amz-content-sha256` value that was signed. */
  payloadHash?: string;
}

const FIFTEEN_MINUTES = 15 * 60 * 1000;

/**
 * Verifies OBS / V2 / V4 authentication, in the header or in the query (presigned URLs), using
 * the shared signing module so the server and every client compute the same strings. Throws
 * `AccessDenied` for anonymous requests, `InvalidAccessKeyId`, `SignatureDoesNotMatch`,
 * `RequestTimeTooSkewed` (header auth) or `AccessDenied` "Request has expired" (query auth).
 * Sets `ctx.dialect` from the signature mode.
 */
export function verifyAuth(ctx: RequestContext, cfg: AuthConfig, now = new Date()): AuthOutcome {
  const signable: SignableRequest = {
    method: ctx.method,
    path: ctx.rawPath,
    query: ctx.query,
    headers: ctx.headers,
    ...(ctx.address.virtualHostBucket !== undefined ? { virtualHostBucket: ctx.address.virtualHostBucket } : {}),
  };
  const creds = { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey };
  const maxSkew = cfg.maxSkewMs ?? FIFTEEN_MINUTES;
  const authz = ctx.headers.authorization;

  if (authz !== undefined) {
    const parsed = parseAuthorization(authz);
    if (!parsed) throw new S3Error('InvalidArgument', 'Unsupported Authorization Type');
    ctx.dialect = parsed.mode === 'obs' ? 'obs' : 's3';
    checkAccessKey(parsed.accessKeyId, cfg);
    if (parsed.mode !== 'v4') {
      const prefix = parsed.mode === 'obs' ? 'x-obs-' : 'x-amz-';
      const dateValue = ctx.headers[`${prefix}date`] ?? ctx.headers.date;
      checkSkew(parseHttpDate(dateValue), now, maxSkew);
      const expected = signV2(parsed.mode, signable, cfg.secretAccessKey);
      if (!timingSafeEqualStr(expected, parsed.signature)) {
        throw mismatch(stringToSignV2(parsed.mode, signable));
      }
      return { mode: parsed.mode, presigned: false };
    }
    const { credentialScope: scope } = parsed;
    checkRegion(scope.region, cfg.region);
    const amzDate = ctx.headers['x-amz-date'];
    const date = amzDate !== undefined ? parseAmzDate(amzDate) : parseHttpDate(ctx.headers.date);
    checkSkew(date, now, maxSkew);
    const payloadHash = ctx.headers['x-amz-content-sha256'];
    if (payloadHash === undefined) {
      throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    }
    if (!parsed.signedHeaders.includes('host')) {
      throw new S3Error('AccessDenied', 'Host must be a signed header.');
    }
    const result = signV4({ ...signable, host: ctx.headers.host ?? '' }, creds, {
      region: scope.region,
      service: scope.service,
      date: date as Date,
      signedHeaders: parsed.signedHeaders,
      payloadHash,
    });
    if (scope.date !== result.amzDate.slice(0, 8) || !timingSafeEqualStr(result.signature, parsed.signature)) {
      throw mismatch(result.stringToSign, result.canonicalRequest);
    }
    return { mode: 'v4', presigned: false, payloadHash };
  }

  const presigned = parsePresignedQuery(ctx.query);
  if (presigned) {
    ctx.dialect = presigned.mode === 'obs' ? 'obs' : 's3';
    checkAccessKey(presigned.accessKeyId, cfg);
    if (presigned.mode !== 'v4') {
      if (presigned.expires * 1000 < now.getTime()) throw expired(new Date(presigned.expires * 1000), now);
      const expires = ctx.q('Expires') as string;
      const expected = signV2(presigned.mode, signable, cfg.secretAccessKey, expires);
      if (!timingSafeEqualStr(expected, presigned.signature)) {
        throw mismatch(stringToSignV2(presigned.mode, signable, expires));
      }
      return { mode: presigned.mode, presigned: true };
    }
    checkRegion(presigned.credentialScope.region, cfg.region);
    const date = parseAmzDate(presigned.amzDate);
    if (!date) throw new S3Error('AccessDenied', 'X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"');
    if (date.getTime() - now.getTime() > maxSkew) throw skewed(date, now, maxSkew);
    if (date.getTime() + presigned.expiresSeconds * 1000 < now.getTime()) {
      throw expired(new Date(date.getTime() + presigned.expiresSeconds * 1000), now);
    }
    let result;
    try {
      result = presignV4({ ...signable, host: ctx.headers.host ?? '' }, creds, {
        region: presigned.credentialScope.region,
        service: presigned.credentialScope.service,
        date,
        signedHeaders: presigned.signedHeaders,
        expires: presigned.expiresSeconds,
      });
    } catch (err) {
      throw new S3Error({ code: 'AuthorizationQueryParametersError', status: 400 }, coerceError(err).message, { cause: err });
    }
    if (!timingSafeEqualStr(result.signature, presigned.signature)) {
      throw mismatch(result.stringToSign, result.canonicalRequest);
    }
    return { mode: 'v4', presigned: true };
  }

  if (ctx.has('Signature') || ctx.has('X-Amz-Signature') || ctx.has('X-Amz-Algorithm')) {
    throw new S3Error('AccessDenied', 'Query-string authentication requires the Signature, Expires and AccessKeyId parameters');
  }
  throw new S3Error('AccessDenied', 'Anonymous access is not allowed.');
}

function checkAccessKey(accessKeyId: string, cfg: AuthConfig): void {
  if (!timingSafeEqualStr(accessKeyId, cfg.accessKeyId)) {
    throw new S3Error('InvalidAccessKeyId', undefined, { extra: { AWSAccessKeyId: accessKeyId } });
  }
}

function checkRegion(region: string, expected: string): void {
  if (region !== expected) {
    throw new S3Error('AuthorizationHeaderMalformed', `the region '${region}' is wrong; expecting '${expected}'`, {
      extra: { Region: expected },
    });
  }
}

function parseHttpDate(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}

function checkSkew(date: Date | undefined, now: Date, maxSkew: number): void {
  if (!date) throw new S3Error('AccessDenied', 'Authentication requires a valid Date or x-obs-date / x-amz-date header');
  if (Math.abs(date.getTime() - now.getTime()) > maxSkew) throw skewed(date, now, maxSkew);
}

function skewed(date: Date, now: Date, maxSkew: number): S3Error {
  return new S3Error('RequestTimeTooSkewed', undefined, {
    extra: {
      RequestTime: date.toUTCString(),
      ServerTime: now.toISOString(),
      MaxAllowedSkewMilliseconds: String(maxSkew),
    },
  });
}

function expired(expires: Date, now: Date): S3Error {
  return new S3Error('AccessDenied', 'Request has expired', {
    extra: { Expires: expires.toISOString(), ServerTime: now.toISOString() },
  });
}

/** The string-to-sign holds no secret; returning it lets a client author see what differed. */
function mismatch(stringToSign: string, canonicalRequest?: string): S3Error {
  return new S3Error('SignatureDoesNotMatch', undefined, {
    extra: { StringToSign: stringToSign, ...(canonicalRequest !== undefined ? { CanonicalRequest: canonicalRequest } : {}) },
  });
}
