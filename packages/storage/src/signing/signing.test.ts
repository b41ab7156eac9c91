import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  authorizationV2,
  encodeKey,
  formatQuery,
  parseAuthorization,
  parsePresignedQuery,
  parseQuery,
  presignV2,
  presignV4,
  signV2,
  signV4,
  stringToSignV2,
  timingSafeEqualStr,
  type SignableRequest,
} from './index.js';

const DATE = 'Tue, 01 Jul 2025 00:00:00 GMT';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('OBS native signature (obs-api.md §3.1 golden vectors)', () => {
  const cases: Array<{ name: string; req: SignableRequest; sts: string; sig?: string }> = [
    {
      name: 'UploadPart, encoded key, sub-resources sorted',
      req: {
        method: 'PUT', path: '/dir/a%20b.txt', virtualHostBucket: 'b', headers: { date: DATE },
        query: [['partNumber', '3'], ['uploadId', 'U1']],
      },
      sts: `PUT\n\n\n${DATE}\n/b/dir/a%20b.txt?partNumber=3&uploadId=U1`,
      sig: '2aGPKZqNXIpZwEoIGGOV0oftlp0=',
    },
    {
      name: 'UploadPartCopy, x-obs-* headers canonicalised',
      req: {
        method: 'PUT', path: '/k', virtualHostBucket: 'b',
        headers: { date: DATE, 'x-obs-copy-source-range': 'bytes=0-99', 'x-obs-copy-source': 'src%2Fobj' },
        query: [['uploadId', 'U1'], ['partNumber', '1']],
      },
      sts: `PUT\n\n\n${DATE}\nx-obs-copy-source:src%2Fobj\nx-obs-copy-source-range:bytes=0-99\n/b/k?partNumber=1&uploadId=U1`,
      sig: 's76xadH+NHyvHsolIFIw8jD3PxM=',
    },
    {
      name: 'ListParts: max-parts is not a sub-resource',
      req: {
        method: 'GET', path: '/k', virtualHostBucket: 'b', headers: { date: DATE },
        query: [['uploadId', 'U1'], ['max-parts', '1000']],
      },
      sts: `GET\n\n\n${DATE}\n/b/k?uploadId=U1`,
    },
    {
      name: 'HeadBucket, virtual-hosted: resource is /bucket/',
      req: { method: 'HEAD', path: '/', virtualHostBucket: 'b', headers: { date: DATE }, query: [] },
      sts: `HEAD\n\n\n${DATE}\n/b/`,
      sig: 'jI5Jr6X3dpJt7hd74f9xFTOPgGw=',
    },
    {
      name: 'x-obs-date empties the Date line; uploads is bare',
      req: {
        method: 'PUT', path: '/k', virtualHostBucket: 'b',
        headers: { 'content-type': 'text/plain', 'x-obs-date': DATE, date: 'ignored' },
        query: [['uploads', null]],
      },
      sts: `PUT\n\ntext/plain\n\nx-obs-date:${DATE}\n/b/k?uploads`,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(stringToSignV2('obs', c.req)).toBe(c.sts);
      if (c.sig) expect(signV2('obs', c.req, 'SK')).toBe(c.sig);
    });
  }

  it('builds the Authorization header', () => {
    expect(authorizationV2('obs', 'AK', 'sig=')).toBe('OBS AK:sig=');
    expect(authorizationV2('v2', 'AK', 'sig=')).toBe('AWS AK:sig=');
  });
});

describe('AWS V2 signature', () => {
  it('path-style HeadBucket (obs-api.md §3.2 vector)', () => {
    const req: SignableRequest = { method: 'HEAD', path: '/b', headers: { date: DATE }, query: [] };
    expect(stringToSignV2('v2', req)).toBe(`HEAD\n\n\n${DATE}\n/b`);
    expect(authorizationV2('v2', 'AK', signV2('v2', req, 'SK'))).toBe('AWS AK:WwFKThpcM4CeCBDpuJ1PxnQCogE=');
  });

  it('uses x-amz-* headers (not x-obs-*) and empties Date when x-amz-date is sent', () => {
    const req: SignableRequest = {
      method: 'PUT', path: '/b/k', query: [['uploadId', 'U'], ['partNumber', '2']],
      headers: { 'x-amz-date': DATE, 'x-obs-meta-a': 'ignored', 'x-amz-meta-b': '  v  ', 'content-md5': 'MD5==' },
    };
    expect(stringToSignV2('v2', req)).toBe(`PUT\nMD5==\n\n\nx-amz-date:${DATE}\nx-amz-meta-b:v\n/b/k?partNumber=2&uploadId=U`);
  });

  it('AWS S3 V2 documented example (GET photos/puppy.jpg)', () => {
    // docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html, "Object GET".
    const req: SignableRequest = {
      method: 'GET', path: '/photos/puppy.jpg', virtualHostBucket: 'awsexamplebucket1',
      headers: { date: 'Tue, 27 Mar 2007 19:36:42 +0000' }, query: [],
    };
    expect(signV2('v2', req, 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).toBe('qgk2+6Sv9/oM7G3qLEjTH1a1l1g=');
  });
});

describe('OBS/V2 query authentication', () => {
  it('signs Expires in place of Date and appends AccessKeyId/Expires/Signature', () => {
    const req: SignableRequest = {
      method: 'PUT', path: '/k', virtualHostBucket: 'b', headers: { 'content-type': 'application/octet-stream' },
      query: [['partNumber', '1'], ['uploadId', 'U1']],
    };
    const now = new Date('2025-07-01T00:00:00Z');
    const p = presignV2('obs', req, { accessKeyId: 'AK', secretAccessKey: 'SK' }, { expires: 60, now });
    const expires = now.getTime() / 1000 + 60;
    expect(p.expires).toBe(expires);
    expect(p.stringToSign).toBe(`PUT\n\napplication/octet-stream\n${expires}\n/b/k?partNumber=1&uploadId=U1`);
    expect(p.query.map(([k]) => k)).toEqual(['partNumber', 'uploadId', 'AccessKeyId', 'Expires', 'Signature']);
    // The server recomputes from the received query: auth params are not sub-resources.
    expect(signV2('obs', { ...req, query: p.query }, 'SK', String(expires))).toBe(p.signature);
    expect(parsePresignedQuery(parseQuery(formatQuery(p.query)))).toEqual({
      mode: 'obs', accessKeyId: 'AK', signature: p.signature, expires,
    });
  });

  it('default lifetime is 300 s; a token is signed (OBS: sub-resource, V2: amz header)', () => {
    const now = new Date('2025-07-01T00:00:00Z');
    const req: SignableRequest = { method: 'GET', path: '/b/k', headers: {}, query: [] };
    const creds = { accessKeyId: 'AK', secretAccessKey: 'SK', securityToken: 'TOK' };
    const v2 = presignV2('v2', req, creds, { now });
    expect(v2.expires).toBe(now.getTime() / 1000 + 300);
    expect(v2.stringToSign).toBe(`GET\n\n\n${v2.expires}\nx-amz-security-token:TOK\n/b/k`);
    expect(v2.query.map(([k]) => k)).toEqual(['x-amz-security-token', 'AWSAccessKeyId', 'Expires', 'Signature']);
    const obs = presignV2('obs', { ...req, path: '/k', virtualHostBucket: 'b' }, creds, { now });
    expect(obs.stringToSign).toBe(`GET\n\n\n${obs.expires}\n/b/k?x-obs-security-token=TOK`);
  });
});

describe('SigV4 (AWS published vectors)', () => {
  const suite = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
  const suiteOpts = { region: 'us-east-1', service: 'service', date: new Date('2015-08-30T12:36:00Z') };
  const host = 'example.amazonaws.com';

  it('get-vanilla', () => {
    const r = signV4(
      { method: 'GET', path: '/', query: [], headers: { host, 'x-amz-date': '20150830T123600Z' }, host },
      suite, suiteOpts,
    );
    expect(r.canonicalRequest).toBe(
      `GET\n/\n\nhost:${host}\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n${sha256('')}`,
    );
    expect(r.stringToSign).toBe(
      `AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n${sha256(r.canonicalRequest)}`,
    );
    expect(r.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
        'SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
    expect(r.addedHeaders).toEqual({});
  });

  it('get-vanilla-query-order-key-case', () => {
    const r = signV4(
      { method: 'GET', path: '/', query: [['Param2', 'value2'], ['Param1', 'value1']], headers: { 'x-amz-date': '20150830T123600Z' }, host },
      suite, suiteOpts,
    );
    expect(r.signature).toBe('b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500');
  });

  it('post-x-www-form-urlencoded', () => {
    const r = signV4(
      {
        method: 'POST', path: '/', query: [], host,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-amz-date': '20150830T123600Z' },
      },
      suite, { ...suiteOpts, payloadHash: sha256('Param1=value1') },
    );
    expect(r.signedHeaders).toEqual(['content-type', 'host', 'x-amz-date']);
    expect(r.signature).toBe('ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a');
  });

  const s3Creds = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
  const s3Host = 'examplebucket.s3.amazonaws.com';
  const s3Date = new Date('2013-05-24T00:00:00Z');

  it('S3 GET object with Range (sig-v4-header-based-auth example): range is signed', () => {
    const r = signV4(
      {
        method: 'GET', path: '/test.txt', query: [], host: s3Host,
        headers: { range: 'bytes=0-9', 'x-amz-content-sha256': sha256(''), 'x-amz-date': '20130524T000000Z' },
      },
      s3Creds, { region: 'us-east-1', date: s3Date },
    );
    expect(r.stringToSign).toBe(
      'AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972',
    );
    expect(r.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });

  it('S3 presigned GET (sigv4-query-string-auth example)', () => {
    const p = presignV4(
      { method: 'GET', path: '/test.txt', query: [], headers: {}, host: s3Host },
      s3Creds, { region: 'us-east-1', date: s3Date, expires: 86400 },
    );
    expect(p.signature).toBe('aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404');
    expect(`https://${s3Host}/test.txt?${formatQuery(p.query)}`).toBe(
      'https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256' +
        '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
        '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
        '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    );
  });

  it('presign defaults to 300 s and a server can recompute from the received query', () => {
    const creds = { accessKeyId: 'AK', secretAccessKey: 'SK', securityToken: 'T/+=' };
    const req = { method: 'PUT', path: '/b/a%20b', query: [['partNumber', '1'], ['uploadId', 'U']] as Array<[string, string | null]>, headers: {}, host: '127.0.0.1:9000' };
    const date = new Date('2025-07-01T00:00:00Z');
    const p = presignV4(req, creds, { region: 'r1', date });
    const received = parseQuery(formatQuery(p.query));
    const parsed = parsePresignedQuery(received);
    expect(parsed).toMatchObject({ mode: 'v4', accessKeyId: 'AK', expiresSeconds: 300, amzDate: '20250701T000000Z', signedHeaders: ['host'] });
    if (parsed?.mode !== 'v4') throw new Error('unreachable');
    const again = presignV4(
      { ...req, query: received },
      { accessKeyId: 'AK', secretAccessKey: 'SK' },
      { region: parsed.credentialScope.region, service: parsed.credentialScope.service, date, expires: parsed.expiresSeconds, signedHeaders: parsed.signedHeaders },
    );
    expect(again.signature).toBe(p.signature);
  });

  it('round trip: a server recomputes a client header signature from SignedHeaders only', () => {
    const creds = { accessKeyId: 'AK', secretAccessKey: 'SK', securityToken: 'TOKEN' };
    const date = new Date('2025-07-01T12:00:00Z');
    const headers = {
      'content-type': 'text/plain', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-meta-a': ' x  y ',
      'user-agent': 'not-signed', range: 'bytes=0-1',
    };
    const req = { method: 'GET', path: '/k%2B1+2', query: [['versionId', 'v 1']] as Array<[string, string | null]>, headers, host: 'b.localhost:8080' };
    const client = signV4(req, creds, { region: 'cn-north-4', date });
    expect(client.addedHeaders).toEqual({ 'x-amz-date': '20250701T120000Z', 'x-amz-security-token': 'TOKEN' });
    expect(client.signedHeaders).not.toContain('user-agent');
    const parsed = parseAuthorization(client.authorization);
    if (parsed?.mode !== 'v4') throw new Error('expected v4');
    expect(parsed.credentialScope).toEqual({ date: '20250701', region: 'cn-north-4', service: 's3' });
    // Server side: it knows only what arrived on the wire (plus a proxy-added header).
    const wire = { ...headers, ...client.addedHeaders, host: 'b.localhost:8080', 'x-forwarded-for': '1.2.3.4' };
    const server = signV4(
      { ...req, headers: wire },
      { accessKeyId: 'AK', secretAccessKey: 'SK' },
      { region: parsed.credentialScope.region, service: parsed.credentialScope.service, date, signedHeaders: parsed.signedHeaders },
    );
    expect(timingSafeEqualStr(server.signature, parsed.signature)).toBe(true);
    // A tampered signed header changes the signature.
    const tampered = signV4(
      { ...req, headers: { ...wire, range: 'bytes=0-2' } },
      { accessKeyId: 'AK', secretAccessKey: 'SK' },
      { region: 'cn-north-4', date, signedHeaders: parsed.signedHeaders },
    );
    expect(tampered.signature).not.toBe(parsed.signature);
  });

  it('keeps STREAMING-* payload values as sent', () => {
    const r = signV4(
      { method: 'PUT', path: '/k', query: [], host: 'h', headers: { 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'x-amz-date': '20250701T000000Z' } },
      { accessKeyId: 'AK', secretAccessKey: 'SK' }, { region: 'r', date: new Date('2025-07-01T00:00:00Z') },
    );
    expect(r.canonicalRequest.endsWith('\nSTREAMING-AWS4-HMAC-SHA256-PAYLOAD')).toBe(true);
  });
});

describe('parseAuthorization', () => {
  it.each([
    ['OBS AK:abc+/=', { mode: 'obs', accessKeyId: 'AK', signature: 'abc+/=' }],
    ['AWS S3RVER:xyz=', { mode: 'v2', accessKeyId: 'S3RVER', signature: 'xyz=' }],
    [
      'AWS4-HMAC-SHA256 Credential=AK/20250701/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-date, Signature=ab12',
      {
        mode: 'v4', accessKeyId: 'AK', credentialScope: { date: '20250701', region: 'us-east-1', service: 's3' },
        signedHeaders: ['host', 'x-amz-date'], signature: 'ab12',
      },
    ],
  ])('%s', (value, expected) => {
    expect(parseAuthorization(value)).toEqual(expected);
  });

  it.each(['', 'Bearer x', 'OBS nocolon', 'AWS AK:', 'AWS4-HMAC-SHA256 Credential=AK/2025/r/s/aws4_request, SignedHeaders=host, Signature=1',
    'AWS4-HMAC-SHA256 SignedHeaders=host, Signature=1'])('rejects %j', (value) => {
    expect(parseAuthorization(value)).toBeUndefined();
  });
});

describe('encoding helpers', () => {
  it('encodes keys like the SDKs (obs-api.md §0)', () => {
    expect(encodeKey('dir/a b+c.txt')).toBe('dir/a%20b%2Bc.txt');
    expect(encodeKey("x!*'()~é")).toBe('x%21%2A%27%28%29~%C3%A9');
  });
  it('round-trips bare query names', () => {
    expect(parseQuery(formatQuery([['uploads', null], ['a b', 'c+d']]))).toEqual([['uploads', null], ['a b', 'c+d']]);
  });
  it('timingSafeEqualStr', () => {
    expect(timingSafeEqualStr('abc', 'abc')).toBe(true);
    expect(timingSafeEqualStr('abc', 'abd')).toBe(false);
    expect(timingSafeEqualStr('abc', 'abcd')).toBe(false);
  });
});
