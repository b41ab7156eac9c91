import { describe, expect, it } from 'vitest';
import { buildResult, isFailedResult, noResponseResult, parseErrorBody } from './buildResult.js';

const ERROR_XML = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The resource you requested does not exist</Message>
<Resource>/example-bucket/object</Resource><RequestId>001B21A61C6C0000013402C4616D5285</RequestId>
<HostId>RkRCRDJENDc5MzdGQkQ4OUY3MTI4NTQ3NDk2Mjg0M0FBQUFBQUFBYmJiYmJiYmJD</HostId></Error>`;

describe('buildResult', () => {
  it('maps an error XML body (obs-api.md §4 sample) and common headers', () => {
    const r = buildResult({
      status: 404,
      headers: { 'x-obs-request-id': 'HDR-RID', 'x-obs-id-2': 'HDR-ID2', 'x-reserved-indicator': 'IND', 'content-type': 'application/xml' },
      bodyText: ERROR_XML,
    });
    expect(r).toMatchObject({
      status: 404,
      reason: 'Not Found',
      errorCode: 'NoSuchKey',
      errorMessage: 'The resource you requested does not exist',
      requestId: '001B21A61C6C0000013402C4616D5285',
      hostId: 'RkRCRDJENDc5MzdGQkQ4OUY3MTI4NTQ3NDk2Mjg0M0FBQUFBQUFBYmJiYmJiYmJD',
      resource: '/example-bucket/object',
      indicator: 'IND',
      body: null,
    });
    expect(r.header).toContainEqual(['x-obs-request-id', 'HDR-RID']);
    expect(isFailedResult(r)).toBe(true);
  });

  it('a 200 whose body is <Error> keeps status 200 but is a failure with the real code', () => {
    const r = buildResult({
      status: 200,
      headers: { 'x-amz-request-id': 'RID4' },
      bodyText: '<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message><RequestId>RID4</RequestId><HostId>H</HostId></Error>',
      body: { etag: 'ignored' },
    });
    expect(r.status).toBe(200);
    expect(r.errorCode).toBe('InternalError');
    expect(r.errorMessage).toBe('We encountered an internal error.');
    expect(r.hostId).toBe('H');
    expect(r.body).toBeNull();
    expect(isFailedResult(r)).toBe(true);
  });

  it('HEAD errors without a body read x-obs-error-code / -message, else the fallback code', () => {
    const withHeaders = buildResult({
      status: 403,
      headers: { 'x-obs-error-code': 'AccessDenied', 'x-obs-error-message': 'Access%20Denied', 'x-obs-request-id': 'R' },
      bodyText: '',
    });
    expect(withHeaders).toMatchObject({ errorCode: 'AccessDenied', errorMessage: 'Access Denied', requestId: 'R' });
    const bare = buildResult({ status: 404, headers: {}, bodyText: '', fallbackCode: 'NoSuchKey' });
    expect(bare.errorCode).toBe('NoSuchKey');
    const unknown = buildResult({ status: 503, headers: {}, bodyText: '' });
    expect(unknown.errorCode).toBe('ServiceUnavailable');
    expect(buildResult({ status: 403, headers: {}, bodyText: '' }).errorCode).toBe('AccessDenied');
    expect(buildResult({ status: 502, headers: {}, bodyText: '' }).errorCode).toBe('BadGateway');
  });

  it('success: error fields empty, x-amz-id-2 not copied to hostId, body kept', () => {
    const r = buildResult({ status: 200, headers: { etag: '"abc"', 'x-amz-id-2': 'ID2', 'x-amz-request-id': 'R' }, body: { etag: '"abc"' } });
    expect(r).toMatchObject({ status: 200, reason: 'OK', errorCode: '', hostId: '', requestId: 'R', body: { etag: '"abc"' } });
    expect(isFailedResult(r)).toBe(false);
  });

  it('flattens repeated headers into pairs', () => {
    const r = buildResult({ status: 204, headers: { 'set-cookie': ['a', 'b'] } });
    expect(r.header).toEqual([['set-cookie', 'a'], ['set-cookie', 'b']]);
  });

  it('parses JSON errors too', () => {
    expect(parseErrorBody('{"code":"APIGW.0301","message":"bad","request_id":"r"}')).toMatchObject({ code: 'APIGW.0301', message: 'bad', requestId: 'r' });
    expect(parseErrorBody('<CopyObjectResult/>')).toBeUndefined();
  });

  it('a call without a response becomes status 0 with the transport code', () => {
    const e = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(noResponseResult(e)).toMatchObject({ status: 0, errorCode: 'ECONNRESET', errorMessage: 'socket hang up', body: null });
  });
});
