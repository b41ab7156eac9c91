import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseQuery } from '@obsq/storage';
import { type Address, resolveAddress } from './addressing.js';

/** Which header family the client speaks: OBS (`x-obs-*`) or S3 (`x-amz-*`). */
export type Dialect = 'obs' | 's3';

/** Everything handlers need to know about one request, parsed once. */
export class RequestContext {
  readonly requestId = randomBytes(16).toString('hex').toUpperCase();
  readonly id2 = randomBytes(24).toString('base64');
  readonly method: string;
  /** Path as on the wire (still percent-encoded). */
  readonly rawPath: string;
  readonly rawQuery: string;
  /** Decoded query in wire order (`+` stays a plus, as in S3/OBS); bare names have value null. */
  readonly query: Array<[string, string | null]>;
  /** Request headers, names lower-cased, repeated headers joined with `,`. */
  readonly headers: Record<string, string>;
  /** Bucket and key; filled by {@link RequestContext.resolve} (it can throw `InvalidURI`). */
  address: Address = {};
  dialect: Dialect;
  /** Operation name, e.g. `UploadPart`; set by the router. */
  op = 'Unknown';
  /** Set once the body has been read (or drained) to its end. */
  bodyDone = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {
    this.method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.rawPath = q < 0 ? url : url.slice(0, q);
    this.rawQuery = q < 0 ? '' : url.slice(q + 1);
    this.query = parseQuery(this.rawQuery);
    const headers: Record<string, string> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = (req.rawHeaders[i] as string).toLowerCase();
      const value = req.rawHeaders[i + 1] as string;
      headers[name] = name in headers ? `${headers[name]},${value}` : value;
    }
    this.headers = headers;
    this.dialect = guessDialect(headers, this.query);
  }

  /** Resolves path-style or virtual-hosted addressing. */
  resolve(baseHosts: readonly string[]): void {
    this.address = resolveAddress(this.headers.host, this.rawPath, baseHosts);
  }

  /** `x-obs-` or `x-amz-` for responses. */
  get prefix(): 'x-obs-' | 'x-amz-' {
    return this.dialect === 'obs' ? 'x-obs-' : 'x-amz-';
  }

  /** First decoded value of a query parameter (`''` for a bare one), or undefined. */
  q(name: string): string | undefined {
    const p = this.query.find(([n]) => n === name);
    return p ? (p[1] ?? '') : undefined;
  }

  /** True when the query has the parameter (bare or with a value). */
  has(name: string): boolean {
    return this.query.some(([n]) => n === name);
  }

  /** Reads `x-obs-<suffix>`, falling back to `x-amz-<suffix>`. */
  ext(suffix: string): string | undefined {
    return this.headers[`x-obs-${suffix}`] ?? this.headers[`x-amz-${suffix}`];
  }
}

function guessDialect(headers: Record<string, string>, query: Array<[string, string | null]>): Dialect {
  const auth = headers.authorization ?? '';
  if (auth.startsWith('OBS ')) return 'obs';
  if (auth.startsWith('AWS')) return 's3';
  if (query.some(([n]) => n === 'AccessKeyId')) return 'obs';
  if (query.some(([n]) => n === 'AWSAccessKeyId' || n.startsWith('X-Amz-'))) return 's3';
  const names = Object.keys(headers);
  if (names.some((n) => n.startsWith('x-obs-'))) return 'obs';
  if (names.some((n) => n.startsWith('x-amz-'))) return 's3';
  return 'obs';
}
