/**
 * SIS and API-gateway error codes a RASR client can meet (spec §6.1). `retryable` says whether
 * reconnecting and resending can help; the rest are caller mistakes or account problems.
 */
export const SIS_ERROR_CODES = {
  'SIS.0001': { meaning: 'connection error (OBS/redis)', retryable: true },
  'SIS.0002': { meaning: 'generic error used in doc examples', retryable: true },
  'SIS.0003': { meaning: 'token lacks user info / agency / internal', retryable: false },
  'SIS.0012': { meaning: 'required field missing from the request', retryable: false },
  'SIS.0031': { meaning: 'request parameter not supported', retryable: false },
  'SIS.0032': { meaning: 'request JSON invalid (bad value, bad frame, wrong sequence)', retryable: false },
  'SIS.0033': { meaning: 'engine response timeout', retryable: true },
  'SIS.0100': { meaning: 'internal error', retryable: true },
  'SIS.0101': { meaning: 'token verification failed (wrong token or project id)', retryable: false },
  'SIS.0102': { meaning: 'auth info missing', retryable: false },
  'SIS.0103': { meaning: 'real-name verification missing', retryable: false },
  'SIS.0201': { meaning: 'hot-word table not found', retryable: false },
  'SIS.0301': { meaning: 'audio_format does not match the model (property)', retryable: false },
  'SIS.0302': { meaning: 'internal service error', retryable: true },
  'SIS.0303': { meaning: 'engine connection failed', retryable: true },
  'SIS.0304': { meaning: 'audio wait timeout: no client data for over 20 s', retryable: true },
  'SIS.0305': { meaning: 'engine error', retryable: true },
  'SIS.0306': { meaning: 'recognition error', retryable: true },
  'SIS.0307': { meaning: 'task error', retryable: true },
  'SIS.30006': { meaning: 'audio decode failed', retryable: false },
  'SIS.30008': { meaning: 'transcription failed', retryable: true },
  'APIGW.0301': { meaning: 'incorrect IAM authentication information (AK/SK or token), HTTP 401', retryable: false },
  'APIGW.0308': { meaning: 'API gateway throttling threshold reached, HTTP 429', retryable: true },
} as const satisfies Record<string, { meaning: string; retryable: boolean }>;

/** A code listed in {@link SIS_ERROR_CODES}. Servers may send others; treat those as strings. */
export type SisErrorCode = keyof typeof SIS_ERROR_CODES;

/**
 * Whether an `error_code` from SIS is worth a retry. Unknown `SIS.*` codes count as retryable
 * (service-side by default); unknown `APIGW.*` codes do not (auth and quota problems).
 */
export function isRetryableSisCode(code: string): boolean {
  const known = (SIS_ERROR_CODES as Record<string, { retryable: boolean } | undefined>)[code];
  if (known) return known.retryable;
  return !code.startsWith('APIGW.');
}

/**
 * Codes that mean "too busy, come back later" rather than failure: back-pressure, so the job is
 * put back without spending an attempt. The protocol notes (sis-rasr-protocol.md §6) found no
 * documented SIS concurrency-limit code ([U]); the FAQ says to retry after 2–5 s, and the gateway
 * in front of SIS answers its throttling with APIGW.0308 / HTTP 429. Handshake answers 429 and 503
 * count as back-pressure whatever their code (see `sisRasrClient`).
 */
export const SIS_THROTTLING_CODES: ReadonlySet<string> = new Set(['APIGW.0308']);

/** Delay used when a throttling answer carries no `Retry-After`, in ms (the FAQ's 2–5 s). */
export const SIS_THROTTLE_DEFAULT_DELAY_MS = 3_000;
