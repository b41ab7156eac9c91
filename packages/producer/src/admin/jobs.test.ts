import { describe, expect, it } from 'vitest';
import { checkQueueAndState, redactPayload } from './jobs.js';

describe('redactPayload', () => {
  it('blanks signatures and userinfo in every URL of a payload, keeping the rest', () => {
    const payload = {
      source: { kind: 'url', url: 'https://user:pw@files.example/a.bin?X-Amz-Signature=abc&X-Amz-Credential=AK%2F1&part=2', size: 10 },
      list: ['http://x.example/?Signature=s&AccessKeyId=AK&Expires=1'],
      n: 3,
      ok: true,
      none: null,
    };
    expect(redactPayload(payload)).toEqual({
      source: { kind: 'url', url: 'https://REDACTED@files.example/a.bin?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&part=2', size: 10 },
      list: ['http://x.example/?Signature=REDACTED&AccessKeyId=REDACTED&Expires=1'],
      n: 3,
      ok: true,
      none: null,
    });
  });
});

describe('checkQueueAndState', () => {
  it('names every bad value', () => {
    expect(checkQueueAndState('upload-part', 'failed')).toEqual({ queue: 'upload-part', state: 'failed' });
    expect(() => checkQueueAndState('uploads', 'done')).toThrow(/queue: must be one of put-object, upload-part, .*; state: must be one of waiting, /);
  });
});
