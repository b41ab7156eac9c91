import { describe, expect, it } from 'vitest';
import { backPressureOf, isPermanent } from '@obsq/shared';
import { isSisThrottling, sisError } from './sisErrors.js';

describe('SIS throttling is back-pressure', () => {
  it('marks handshake 429/503 and APIGW.0308 as throttled, with Retry-After or the 3 s default', () => {
    const h429 = sisError({ error_code: 'HTTP.429', error_msg: 'busy', http_status: 429, source: 'HANDSHAKE', retry_after_ms: 2_000 });
    expect(backPressureOf(h429)).toEqual({ retryAfterMs: 2_000 });
    expect(isPermanent(h429)).toBe(false);
    expect(backPressureOf(sisError({ error_code: 'SIS.0302', error_msg: 'x', http_status: 503, source: 'HANDSHAKE' }))).toEqual({ retryAfterMs: 3_000 });
    expect(isSisThrottling({ error_code: 'APIGW.0308', source: 'ERROR' })).toBe(true);
  });

  it('leaves ordinary failures alone', () => {
    expect(backPressureOf(sisError({ error_code: 'SIS.0302', error_msg: 'x', source: 'ERROR' }))).toBeUndefined();
    expect(backPressureOf(sisError({ error_code: 'HTTP.500', error_msg: 'x', http_status: 500, source: 'HANDSHAKE' }))).toBeUndefined();
    const auth = sisError({ error_code: 'APIGW.0301', error_msg: 'x', http_status: 401, source: 'HANDSHAKE' }, { permanent: true });
    expect(backPressureOf(auth)).toBeUndefined();
    expect(isPermanent(auth)).toBe(true);
    expect(backPressureOf(new Error('plain'))).toBeUndefined();
  });
});
