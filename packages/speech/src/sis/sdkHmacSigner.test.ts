import { describe, expect, it } from 'vitest';
import { formatSdkDate, parseSdkDate, sdkCanonicalRequest, sdkCanonicalUri, EMPTY_BODY_SHA256 } from './sdkHmacCanonical.js';
import { signSdkHmacRequest, signWebsocketHandshake } from './sdkHmacSigner.js';
import { verifySdkHmac } from './verifySdkHmac.js';

const SIGNED_AT = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
const AK = 'AKTESTEXAMPLE0000000';
const SK = 'SKtestExampleSecret0000000000000000000000';
const RASR_URL = 'wss://sis-ext.cn-north-4.myhuaweicloud.com/v1/0123456789abcdef0123456789abcdef/rasr/continue-stream';

describe('SDK-HMAC-SHA256 signer', () => {
  it('reproduces the API signing guide worked example (W-signvec)', () => {
    const url = 'https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0';
    const { canonicalRequest } = sdkCanonicalRequest({
      method: 'GET',
      path: '/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs',
      query: 'limit=2&marker=13551d6b-755d-4757-b956-536f674975c0',
      signedHeaders: { 'content-type': 'application/json', host: 'service.region.example.com', 'x-sdk-date': '20191115T033655Z' },
      bodySha256: EMPTY_BODY_SHA256,
    });
    expect(canonicalRequest).toBe(
      'GET\n/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\nlimit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n' +
        'content-type:application/json\nhost:service.region.example.com\nx-sdk-date:20191115T033655Z\n\n' +
        'content-type;host;x-sdk-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    const signed = signSdkHmacRequest({
      url,
      ak: 'QTWAOYTTINDUT2QVKYUC',
      sk: 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc',
      headers: { 'Content-Type': 'application/json', 'X-Sdk-Date': '20191115T033655Z' },
    });
    expect(signed.headers.Authorization).toBe(
      'SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, ' +
        'Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe',
    );
  });

  it('reproduces the RASR-shaped vector of the spec, and returns no host header', () => {
    const headers = signWebsocketHandshake({ url: RASR_URL, ak: AK, sk: SK, date: SIGNED_AT });
    expect(headers).toEqual({
      'X-Sdk-Date': '20240102T030405Z',
      Authorization:
        'SDK-HMAC-SHA256 Access=AKTESTEXAMPLE0000000, SignedHeaders=host;x-sdk-date, ' +
        'Signature=fb6b89e349ec94bc3c013acf2b490ae1cdc2dea265d1c4a2a61fb39720c15593',
    });
    const withCt = signWebsocketHandshake({ url: RASR_URL, ak: AK, sk: SK, date: SIGNED_AT, headers: { 'Content-Type': 'application/json' } });
    expect(withCt.Authorization).toContain('SignedHeaders=content-type;host;x-sdk-date, Signature=a37c2e0a6e4b0bb075a40d26d69db34bd237ccdf8be371e382e6b23acff9629f');
    expect(Object.keys(withCt).map((k) => k.toLowerCase())).not.toContain('host');
  });

  it('formats and parses X-Sdk-Date, rejecting malformed and rolled-over dates', () => {
    expect(formatSdkDate(SIGNED_AT)).toBe('20240102T030405Z');
    expect(parseSdkDate('20240102T030405Z')?.getTime()).toBe(SIGNED_AT.getTime());
    expect(parseSdkDate('2024-01-02T03:04:05Z')).toBeUndefined();
    expect(parseSdkDate('20240230T000000Z')).toBeUndefined();
  });

  it('encodes each path segment and appends the trailing slash', () => {
    expect(sdkCanonicalUri('/v1/p/rasr/continue-stream')).toBe('/v1/p/rasr/continue-stream/');
    expect(sdkCanonicalUri('/a%20b/c d/x!y~z/')).toBe('/a%20b/c%20d/x%21y~z/');
  });

  it('signs host:port for a non-default port and the bare host for the default one', () => {
    const local = signSdkHmacRequest({ url: 'ws://127.0.0.1:8080/v1/p/rasr/short-stream', ak: AK, sk: SK, date: SIGNED_AT });
    expect(local.headers.host).toBe('127.0.0.1:8080');
    const dflt = signSdkHmacRequest({ url: 'wss://sis-ext.cn-north-4.myhuaweicloud.com:443/v1/p/rasr/short-stream', ak: AK, sk: SK, date: SIGNED_AT });
    expect(dflt.headers.host).toBe('sis-ext.cn-north-4.myhuaweicloud.com');
  });
});

describe('verifySdkHmac', () => {
  const path = '/v1/0123456789abcdef0123456789abcdef/rasr/continue-stream';
  const host = 'sis-ext.cn-north-4.myhuaweicloud.com';
  const lookupSk = (ak: string) => (ak === AK ? SK : undefined);
  const received = (extra: Record<string, string> = {}) => {
    const h = signWebsocketHandshake({ url: RASR_URL, ak: AK, sk: SK, date: SIGNED_AT });
    return { host, 'x-sdk-date': h['X-Sdk-Date'], authorization: h.Authorization, ...extra };
  };
  const base = { path, lookupSk, now: new Date(SIGNED_AT.getTime() + 60_000) };

  it('accepts a round-tripped handshake and returns the AK', () => {
    expect(verifySdkHmac({ ...base, headers: received() })).toEqual({ ok: true, ak: AK });
    // content-length is added after signing by the SDKs and must not matter.
    expect(verifySdkHmac({ ...base, headers: received({ 'content-length': '0' }) }).ok).toBe(true);
  });

  it.each([
    ['wrong path', { path: `${path}x` }, {}, 'verify aksk signature fail'],
    ['wrong method', { method: 'POST' }, {}, 'verify aksk signature fail'],
    ['different Host', {}, { host: '127.0.0.1:1' }, 'verify aksk signature fail'],
    ['tampered signature', {}, { authorization: received().authorization.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }, 'verify aksk signature fail'],
    ['short signature', {}, { authorization: received().authorization.slice(0, -2) }, 'verify aksk signature fail'],
    ['unknown AK', { lookupSk: () => undefined }, {}, 'access key not found'],
    ['wrong SK', { lookupSk: () => 'other-secret' }, {}, 'verify aksk signature fail'],
    ['date 16 min old', { now: new Date(SIGNED_AT.getTime() + 16 * 60_000) }, {}, 'signature expired'],
    ['date 16 min ahead', { now: new Date(SIGNED_AT.getTime() - 16 * 60_000) }, {}, 'signature expired'],
    ['no authorization', {}, { authorization: '' }, 'authorization header missing'],
    ['other algorithm', {}, { authorization: 'AWS4-HMAC-SHA256 Credential=x' }, 'unsupported authorization algorithm'],
    ['date not signed', {}, { authorization: received().authorization.replace('host;x-sdk-date', 'host') }, 'x-sdk-date must be signed'],
    ['malformed date', {}, { 'x-sdk-date': '2024-01-02' }, 'x-sdk-date format invalid'],
  ])('rejects %s', (_name, over, headerOver, reason) => {
    const res = verifySdkHmac({ ...base, ...over, headers: { ...received(), ...headerOver } });
    expect(res).toEqual({ ok: false, code: 'APIGW.0301', message: `Incorrect IAM authentication information: ${reason}` });
  });

  it('rejects two Host headers (seen only in rawHeaders, Node drops the duplicate)', () => {
    const headers = received();
    const rawHeaders = ['Host', host, 'host', host, 'X-Sdk-Date', headers['x-sdk-date'], 'Authorization', headers.authorization];
    const res = verifySdkHmac({ ...base, headers, rawHeaders });
    expect(res.ok).toBe(false);
    expect(verifySdkHmac({ ...base, headers, rawHeaders: rawHeaders.slice(2) }).ok).toBe(true);
  });

  it('never echoes the AK or signature in the message', () => {
    const res = verifySdkHmac({ ...base, headers: received({ host: 'x' }) });
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.message).not.toContain(AK);
      expect(res.message).not.toMatch(/[0-9a-f]{64}/);
    }
  });
});
