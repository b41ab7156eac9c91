import { STATUS_CODES } from 'node:http';
import { makeGetResult, type GetResult } from '@obsq/shared';
import { parseXml, xmlChild, xmlText, type XmlNode } from './xml.js';

/** Error codes for bodiless failures (HEAD, some proxies), by status, as OBS/S3 would name them. */
const STATUS_CODE_NAMES: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  403: 'AccessDenied',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  412: 'PreconditionFailed',
  416: 'InvalidRange',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

/** Response headers as undici gives them (lower-case names). */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** Flattens response headers into the GetResult `header` list: lower-case `[name, value]` pairs. */
export function headerList(headers: ResponseHeaders): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([name.toLowerCase(), v]);
  }
  return out;
}

/** First value of a header (either prefix when `name` starts with `x-obs-`/`x-amz-`... pass both). */
export function firstHeader(headers: ResponseHeaders, ...names: string[]): string {
  for (const n of names) {
    const v = headers[n];
    if (v !== undefined) return Array.isArray(v) ? (v[0] ?? '') : v;
  }
  return '';
}

/** The fields of an `<Error>` document (or a JSON error `{code, message, request_id}`). */
export interface ParsedError {
  code: string;
  message: string;
  requestId: string;
  hostId: string;
  resource: string;
}

/**
 * Parses an error body. Returns undefined when the text is neither an `<Error>` XML document nor
 * a JSON error.
 */
export function parseErrorBody(text: string): ParsedError | undefined {
  const t = text.trim();
  if (t.startsWith('<')) {
    let doc: Record<string, XmlNode | undefined>;
    try {
      doc = parseXml(t);
    } catch {
      return undefined;
    }
    const err = doc.Error;
    if (err === undefined) return undefined;
    return {
      code: xmlText(err, 'Code'),
      message: xmlText(err, 'Message'),
      requestId: xmlText(err, 'RequestId'),
      hostId: xmlText(err, 'HostId'),
      resource: xmlText(err, 'Resource'),
    };
  }
  if (t.startsWith('{')) {
    try {
      const j = JSON.parse(t) as Record<string, unknown>;
      const s = (v: unknown) => (typeof v === 'string' ? v : '');
      if (!s(j.code) && !s(j.Code)) return undefined;
      return { code: s(j.code) || s(j.Code), message: s(j.message) || s(j.Message), requestId: s(j.request_id), hostId: '', resource: '' };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Inputs of {@link buildResult}. */
export interface ResponseParts<Body> {
  status: number;
  headers: ResponseHeaders;
  /** Response body text when it was read (errors, XML results); undefined for streamed bodies. */
  bodyText?: string;
  /** Success body, already mapped to the operation's shape. */
  body?: Body | null;
  /**
   * Error code to use when a failure has neither a body nor `x-obs-error-code` (HEAD, s3rver's
   * bodiless 404): e.g. `NoSuchKey` for HeadObject.
   * @defaultValue derived from the status (`AccessDenied` for 403, `ServiceUnavailable` for 503,
   * else the reason phrase without spaces)
   */
  fallbackCode?: string;
}

/**
 * Builds the GetResult of one response, following the OBS SDKs (obs-api.md §4, §5):
 * `requestId` from the error body, else `x-obs-request-id`/`x-amz-request-id`; `hostId` from the
 * body, else `x-obs-id-2`/`x-amz-id-2`; `indicator` from `x-reserved-indicator`; a bodiless error's
 * code/message from `x-obs-error-code`/`x-obs-error-message`.
 *
 * A 2xx whose body is an `<Error>` document (CopyObject, UploadPartCopy, Complete) is a failure:
 * the result keeps the real HTTP `status` (2xx) but carries `errorCode`/`errorMessage`/`hostId`/
 * `resource` and `body: null`. Check failures with {@link isFailedResult}, not the status alone.
 */
export function buildResult<Body>(parts: ResponseParts<Body>): GetResult<Body> {
  const { status, headers } = parts;
  const header = headerList(headers);
  const reason = STATUS_CODES[status] ?? '';
  const headerRequestId = firstHeader(headers, 'x-obs-request-id', 'x-amz-request-id');
  const headerHostId = firstHeader(headers, 'x-obs-id-2', 'x-amz-id-2');
  const indicator = firstHeader(headers, 'x-reserved-indicator');
  const parsed = parts.bodyText !== undefined && parts.bodyText !== '' ? parseErrorBody(parts.bodyText) : undefined;
  const ok = status >= 200 && status < 300;

  if (ok && parsed === undefined) {
    return makeGetResult<Body>({ status, reason, requestId: headerRequestId, indicator, header, body: parts.body ?? null });
  }

  const code =
    parsed?.code ||
    firstHeader(headers, 'x-obs-error-code', 'x-amz-error-code') ||
    parts.fallbackCode ||
    STATUS_CODE_NAMES[status] ||
    (STATUS_CODES[status] ?? `HTTP${status}`).replace(/[^A-Za-z0-9]/g, '');
  const message = parsed?.message || decodeHeader(firstHeader(headers, 'x-obs-error-message', 'x-amz-error-message'));
  const failed = makeGetResult<Body>({
    status,
    reason,
    errorCode: code,
    errorMessage: message,
    requestId: parsed?.requestId || headerRequestId,
    indicator,
    hostId: parsed?.hostId || headerHostId,
    resource: parsed?.resource ?? '',
    header,
    body: null,
  });
  if (ok) {
    // makeGetResult blanks error fields below 300; a 2xx with <Error> keeps them on purpose.
    return { ...failed, errorCode: code, errorMessage: message, hostId: parsed?.hostId || headerHostId, resource: parsed?.resource ?? '', body: null };
  }
  return failed;
}

/** True when a result is a failure: non-2xx, or a 2xx that carried an `<Error>` body. */
export function isFailedResult(result: Pick<GetResult, 'status' | 'errorCode'>): boolean {
  return result.status < 200 || result.status >= 300 || result.errorCode !== '';
}

/** A GetResult for a call that got no response (connection refused, reset, timeout). */
export function noResponseResult(err: unknown): GetResult<never> {
  const e = err as { code?: unknown; name?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'NetworkError';
  return makeGetResult<never>({ status: 0, reason: '', errorCode: code, errorMessage: typeof e?.message === 'string' ? e.message : String(err) });
}

/** Reads a child's text of an XML result document, for operation body mappers. */
export function resultField(doc: XmlNode | undefined, ...path: string[]): string {
  let node: XmlNode | undefined = doc;
  for (const p of path.slice(0, -1)) node = xmlChild(node, p);
  return xmlText(node, path[path.length - 1]);
}

function decodeHeader(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}
