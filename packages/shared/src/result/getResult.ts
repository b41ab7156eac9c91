import { capText, LOG_FIELD_MAX_CHARS, RECORD_MESSAGE_MAX_CHARS } from '../errors/index.js';

/**
 * The OBS SDK's GetResult shape: the one record every finished obsq job leaves behind.
 *
 * Rules from the seed: `errorCode`, `errorMessage`, `hostId` and `resource` are empty strings
 * when `status < 300`; `body` is `null` when `status >= 300`.
 */
export interface GetResult<Body = unknown> {
  /** HTTP status code (2xx success, 4xx/5xx error). Synthetic failures use 0 (no response). */
  status: number;
  /** HTTP reason phrase, e.g. `OK`, `Forbidden`. */
  reason: string;
  /** OBS/S3 error code (`NoSuchKey`, `SlowDown`, `APIGW.0301`, ...); empty below 300. */
  errorCode: string;
  /** Error description; empty below 300. */
  errorMessage: string;
  /** Request id from the server (`x-obs-request-id` / `x-amz-request-id` / SIS `trace_id`). */
  requestId: string;
  /** Error-locating code (`x-reserved-indicator`). */
  indicator: string;
  /** Server id of the request (`x-obs-id-2` / `x-amz-id-2` or error XML `HostId`); empty below 300. */
  hostId: string;
  /** Bucket or object involved in the error; empty below 300. */
  resource: string;
  /** Response headers as `[name, value]` pairs, names lower-cased, in the order received. */
  header: Array<[string, string]>;
  /** Operation result data; `null` when `status >= 300`. */
  body: Body | null;
}

/** Fields a caller may set when building a GetResult by hand (e.g. a failure with no response). */
export type GetResultInit<Body> = Partial<GetResult<Body>> & Pick<GetResult<Body>, 'status'>;

/** Builds a GetResult that obeys the seed's rules whatever the caller passed. */
export function makeGetResult<Body>(init: GetResultInit<Body>): GetResult<Body> {
  const ok = init.status > 0 && init.status < 300;
  return {
    status: init.status,
    reason: init.reason ?? '',
    errorCode: ok ? '' : (init.errorCode ?? ''),
    errorMessage: ok ? '' : capText(init.errorMessage ?? '', RECORD_MESSAGE_MAX_CHARS),
    requestId: init.requestId ?? '',
    indicator: init.indicator ?? '',
    hostId: ok ? '' : (init.hostId ?? ''),
    resource: ok ? '' : capText(init.resource ?? '', LOG_FIELD_MAX_CHARS),
    header: init.header ?? [],
    body: init.status >= 300 || init.status === 0 ? null : (init.body ?? null),
  };
}

/** True for a successful record (2xx). */
export function isSuccess(result: Pick<GetResult, 'status'>): boolean {
  return result.status >= 200 && result.status < 300;
}
