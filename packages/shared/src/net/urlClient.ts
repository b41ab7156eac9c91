import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { coerceError, errorCode, ObsqError } from '../errors/index.js';
import { credentialParams, urlAddressRefusal, urlForbidden, urlHostRefusal, type UrlPolicy } from './urlPolicy.js';

/** Options of one {@link UrlClient.request}. */
export interface UrlRequestOptions {
  /** @defaultValue `'GET'` */
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Field named in error messages (`source.url`, `audio.url`). @defaultValue `'url'` */
  field?: string;
}

/** A response after redirects: consume or dump `body`. */
export interface UrlResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Dispatcher.ResponseData['body'];
  /** The URL that answered (after redirects). */
  url: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** The `OBSQ_URL_FORBIDDEN` error somewhere in `err`'s cause chain (undici may wrap it). */
function forbiddenIn(err: unknown): ObsqError | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (errorCode(e) === 'OBSQ_URL_FORBIDDEN') return e as ObsqError;
  }
  return undefined;
}

/**
 * Turns a failure of a URL request or of reading its body into an obsq error naming `field`:
 * undici's connect/headers/body timeouts become `OBSQ_TIMEOUT` (naming `OBSQ_URL_TIMEOUT_MS`), a
 * policy refusal stays `OBSQ_URL_FORBIDDEN`, anything else is `OBSQ_NETWORK` (retryable).
 */
export function urlFailure(err: unknown, field: string, host: string, timeoutMs: number, signal?: AbortSignal): Error {
  const forbidden = forbiddenIn(err);
  if (forbidden) return urlForbidden(field, forbidden.message.replace(/^[^:]*: /, ''));
  const e = coerceError(err);
  if (e instanceof ObsqError) return e;
  if (signal?.aborted) return new ObsqError('OBSQ_ABORTED', `${field}: request to ${host} aborted`, { cause: e });
  const code = errorCode(e) ?? '';
  const what: Record<string, string> = {
    UND_ERR_CONNECT_TIMEOUT: 'did not accept a connection',
    UND_ERR_HEADERS_TIMEOUT: 'sent no response headers',
    UND_ERR_BODY_TIMEOUT: 'sent no body data',
  };
  if (what[code]) {
    return new ObsqError('OBSQ_TIMEOUT', `${field}: ${host} ${what[code]} within ${timeoutMs} ms (OBSQ_URL_TIMEOUT_MS)`, { cause: e });
  }
  return new ObsqError('OBSQ_NETWORK', `${field}: request to ${host} failed: ${code ? `${code} ` : ''}${e.message}`, { cause: e });
}

/**
 * The one way obsq fetches http(s) sources. Every connection goes through the {@link UrlPolicy}:
 * host names are resolved once, inside the connect (`connect.lookup`), and the socket connects to
 * the address that was checked, so DNS cannot answer differently between check and use
 * (rebinding). Address literals are checked before connecting. Redirects are followed by hand, at
 * most `policy.maxRedirects`, only to http(s) targets that pass the same checks. Connect, headers
 * and body-idle timeouts are `policy.timeoutMs`.
 */
export class UrlClient {
  readonly policy: UrlPolicy;
  private readonly agent: Agent;

  constructor(policy: UrlPolicy) {
    this.policy = policy;
    this.agent = new Agent({
      connect: { lookup: this.lookup, timeout: policy.timeoutMs },
      headersTimeout: policy.timeoutMs,
      bodyTimeout: policy.timeoutMs,
    });
  }

  /** Resolves a host for `net.connect`, keeping only addresses the policy allows. */
  private readonly lookup: LookupFunction = (hostname, options, callback) => {
    const refusal = urlHostRefusal(this.policy, hostname);
    const fail = (err: NodeJS.ErrnoException) => (options.all ? callback(err, []) : callback(err, '', 0));
    if (refusal) return fail(urlForbidden('url', refusal));
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return fail(err);
      const allowed = addresses.filter((a) => urlAddressRefusal(this.policy, hostname, a.address) === undefined);
      if (allowed.length === 0) {
        const why = addresses.length > 0 ? urlAddressRefusal(this.policy, hostname, addresses[0]!.address)! : `${hostname} has no address`;
        return fail(urlForbidden('url', why));
      }
      if (options.all) callback(null, allowed);
      else callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };

  /** Refuses a URL before connecting: scheme, credentials, denied names, address literals. */
  check(url: URL, field: string): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw urlForbidden(field, `must use http or https (got ${url.protocol.slice(0, -1)})`);
    if (url.username !== '' || url.password !== '') throw urlForbidden(field, 'must not contain a user name or password');
    const creds = credentialParams(url);
    if (creds.length > 0) {
      throw urlForbidden(field, `query parameter ${creds.map((c) => JSON.stringify(c.slice(0, 40))).join(', ')} looks like a credential; credentials are never stored in job payloads`);
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const refusal = isIP(host) ? urlAddressRefusal(this.policy, host, host) : urlHostRefusal(this.policy, host);
    if (refusal) throw urlForbidden(field, refusal);
  }

  /**
   * Sends one request, following redirects within the policy.
   * @throws ObsqError `OBSQ_URL_FORBIDDEN` (permanent), `OBSQ_TIMEOUT`, `OBSQ_NETWORK`, `OBSQ_ABORTED`
   */
  async request(url: string | URL, options: UrlRequestOptions = {}): Promise<UrlResponse> {
    const field = options.field ?? 'url';
    let current: URL;
    try {
      current = new URL(url);
    } catch (cause) {
      throw new ObsqError('OBSQ_VALIDATION', `${field}: must be an absolute http(s) URL`, { cause, permanent: true });
    }
    let method = options.method ?? 'GET';
    for (let redirects = 0; ; redirects++) {
      this.check(current, field);
      let res: Dispatcher.ResponseData;
      try {
        res = await request(current, { dispatcher: this.agent, method, headers: options.headers, signal: options.signal });
      } catch (err) {
        throw urlFailure(err, field, current.host, this.policy.timeoutMs, options.signal);
      }
      const location = res.headers.location;
      if (!REDIRECTS.has(res.statusCode) || typeof location !== 'string') return { statusCode: res.statusCode, headers: res.headers, body: res.body, url: current.href };
      await res.body.dump().catch(() => undefined);
      if (redirects >= this.policy.maxRedirects) throw urlForbidden(field, `more than ${this.policy.maxRedirects} redirects (last to ${location.slice(0, 200)})`);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch (cause) {
        throw new ObsqError('OBSQ_SOURCE', `${field}: ${current.host} redirected to an invalid Location ${JSON.stringify(location.slice(0, 200))}`, { cause, permanent: true });
      }
      if (current.protocol === 'https:' && next.protocol === 'http:') throw urlForbidden(field, `redirect from https to plain http (${next.host}) refused`);
      if (res.statusCode === 303) method = 'GET';
      current = next;
    }
  }

  /** Closes idle connections and refuses new requests. */
  async close(): Promise<void> {
    await this.agent.close();
  }
}
