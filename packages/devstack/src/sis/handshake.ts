import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { verifySdkHmac } from '@obsq/speech';

/** The three RASR modes. */
export type SisMode = 'short-stream' | 'sentence-stream' | 'continue-stream';

const ROUTE = /^\/v1\/([^/?]+)\/rasr\/(short-stream|sentence-stream|continue-stream)$/;

/** Outcome of checking an upgrade request. */
export type HandshakeResult =
  | { ok: true; mode: SisMode; projectId: string; auth: 'aksk' | 'token' }
  | { ok: false; status: 401 | 404; body: { error_msg: string; error_code: string; request_id: string } };

/** What the handshake check needs from the server options. */
export interface HandshakeCredentials {
  projectId: string;
  ak: string;
  sk: string;
  token?: string | undefined;
}

function reject(status: 401 | 404, error_code: string, error_msg: string): HandshakeResult {
  return { ok: false, status, body: { error_msg, error_code, request_id: randomUUID().replace(/-/g, '') } };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Checks a WebSocket upgrade as APIG + SIS would (spec §9.1–9.2): route (else 404 APIGW.0101),
 * exactly one Host header, `X-Auth-Token` or SDK-HMAC-SHA256 (else 401 APIGW.0301), then the
 * project id (else 401 SIS.0101: a credential is bound to one project, and D-codes lists a wrong
 * project_id in the URL under "token verification failed").
 */
export function checkHandshake(req: IncomingMessage, creds: HandshakeCredentials, now = new Date()): HandshakeResult {
  const path = req.url ?? '/';
  const route = ROUTE.exec(path.split('?')[0] ?? '');
  if (!route) return reject(404, 'APIGW.0101', 'The API does not exist or has not been published in the environment');
  const [, projectId = '', mode] = route;

  const hosts = req.rawHeaders.filter((v, i) => i % 2 === 0 && v.toLowerCase() === 'host').length;
  if (hosts !== 1) return reject(401, 'APIGW.0301', `Incorrect IAM authentication information: expected one host header, got ${hosts}`);

  const token = req.headers['x-auth-token'];
  if (token !== undefined) {
    if (creds.token === undefined || typeof token !== 'string' || !sameSecret(token, creds.token)) {
      return reject(401, 'APIGW.0301', 'Incorrect IAM authentication information: verify token fail');
    }
  } else {
    const verdict = verifySdkHmac({
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      lookupSk: (ak) => (sameSecret(ak, creds.ak) ? creds.sk : undefined),
      now,
    });
    if (!verdict.ok) return reject(401, verdict.code, verdict.message);
  }
  if (projectId !== creds.projectId) {
    return reject(401, 'SIS.0101', 'Token verification failed: the project_id in the URL does not belong to these credentials');
  }
  return { ok: true, mode: mode as SisMode, projectId, auth: token !== undefined ? 'token' : 'aksk' };
}
