import { describe, expect, it } from 'vitest';
import {
  EMPTY_SHA256,
  isSubResource,
  parseAmzDate,
  parseAuthorization,
  parsePresignedQuery,
  parseQuery,
  presignV2,
  presignV4,
  signV4,
  stringToSignV2,
  SUB_RESOURCES,
  timingSafeEqualStr,
  type SignableRequest,
} from './index.js';

// Edges of the signers and of the parsers the devstack verifies with: each case here is a way a
// signature could be computed differently from OBS/S3, or a malformed header accepted.

const creds = { accessKeyId: 'AK', secretAccessKey: 'SK' };
const DATE = new Date('2025-07-01T00:00:00Z');
const req = (over: Partial<SignableRequest> = {}): SignableRequest => ({ method: 'GET', path: '/b/k', query: [], headers: {}, ...over });

describe('sub-resources (the OBS/V2 canonical resource)', () => {
  // The union of the OBS SDKs' and AWS's lists (obs-api.md §3.1), pinned: each name signed or not
  // changes every signature that carries it.
  const PINNED = [
    'acl', 'accelerate', 'analytics', 'append', 'attname', 'backtosource', 'bucketstatus', 'cors',
    'customdomain', 'delete', 'deletebucket', 'directcoldaccess', 'encryption', 'fileinterface',
    'inventory', 'length', 'lifecycle', 'location', 'logging', 'metadata', 'metrics',
    'mirrorbacktosource', 'modify', 'name', 'notification', 'object-lock', 'obsalias',
    'obsbucketalias', 'obscompresspolicy', 'obsworkflowtriggerpolicy', 'partnumber', 'policy',
    'policystatus', 'position', 'publicaccessblock', 'quota', 'rename', 'replication',
    'requestpayment', 'response-cache-control', 'response-content-disposition',
    'response-content-encoding', 'response-content-language', 'response-content-type',
    'response-expires', 'restore', 'retention', 'storageclass', 'storageinfo', 'storagepolicy',
    'tagging', 'torrent', 'truncate', 'uploadid', 'uploads', 'versionid', 'versioning', 'versions',
    'website', 'x-image-process', 'x-image-save-bucket', 'x-image-save-object', 'x-oss-process',
    'x-workflow-execution-state', 'x-workflow-execution-type', 'x-workflow-graph-name',
    'x-workflow-limit', 'x-workflow-next-marker', 'x-workflow-prefix', 'x-workflow-start',
    'x-workflow-template-name',
  ];

  it('is exactly the pinned list', () => {
    expect([...SUB_RESOURCES].sort()).toEqual([...PINNED].sort());
  });

  it.each(PINNED)('%s is signed, in any case; a near name is not', (name) => {
    expect(isSubResource(name, 'x-obs-')).toBe(true);
    expect(isSubResource(name.toUpperCase(), 'x-obs-')).toBe(true);
    expect(isSubResource(`${name}x`, 'x-zzz-')).toBe(false);
  });

  it('parameters with the mode prefix are signed, others (max-parts, prefix, marker) never', () => {
    expect(isSubResource('X-Obs-Security-Token', 'x-obs-')).toBe(true);
    expect(isSubResource('x-obs-security-token', 'x-amz-')).toBe(false);
    for (const name of ['max-parts', 'prefix', 'marker', 'part-number-marker', 'encoding-type']) expect(isSubResource(name, 'x-obs-')).toBe(false);
  });

  it('sorts sub-resources by name, then value, and writes bare and empty ones without =', () => {
    const s = stringToSignV2('obs', req({ query: [['versionId', 'b'], ['uploads', null], ['acl', ''], ['versionId', 'a'], ['prefix', 'p'], ['partNumber', '2']] }), '9');
    expect(s).toBe('GET\n\n\n9\n/b/k?acl&partNumber=2&uploads&versionId=a&versionId=b');
  });

  it('sorts canonical headers by name and trims their values; takes Content-MD5 and Content-Type as sent', () => {
    const s = stringToSignV2(
      'obs',
      req({ method: 'put', headers: { 'x-obs-b': ' 2 ', 'X-Obs-A': '1', 'x-obs-c': '3', 'content-md5': 'MD5==', 'content-type': 'text/plain', date: 'D' } }),
    );
    expect(s).toBe('PUT\nMD5==\ntext/plain\nD\nx-obs-a:1\nx-obs-b:2\nx-obs-c:3\n/b/k');
  });

  it('V2 signs x-amz-* query parameters as headers (presigned tokens); OBS signs them as sub-resources', () => {
    expect(stringToSignV2('v2', req({ query: [['x-amz-security-token', ' T ']] }), '9')).toBe('GET\n\n\n9\nx-amz-security-token:T\n/b/k');
    expect(stringToSignV2('obs', req({ query: [['x-obs-security-token', 'T']] }), '9')).toBe('GET\n\n\n9\n/b/k?x-obs-security-token=T');
    expect(stringToSignV2('v2', req({ query: [['x-amz-empty', null]] }), '9')).toBe('GET\n\n\n9\nx-amz-empty:\n/b/k');
  });
});

describe('presign lifetimes', () => {
  it('presignV2 takes 0..n whole seconds', () => {
    const now = new Date(1_000_000);
    expect(presignV2('obs', req(), creds, { expires: 0, now }).expires).toBe(1000);
    expect(() => presignV2('obs', req(), creds, { expires: -1 })).toThrow('expires must be a non-negative integer (seconds)');
    expect(() => presignV2('obs', req(), creds, { expires: 1.5 })).toThrow('expires must be a non-negative integer (seconds)');
  });

  it('presignV4 takes 1..604800 whole seconds', () => {
    const sign = (expires: number) => presignV4({ ...req(), host: 'h' }, creds, { region: 'r', date: DATE, expires });
    expect(sign(1).query).toContainEqual(['X-Amz-Expires', '1']);
    expect(sign(604_800).query).toContainEqual(['X-Amz-Expires', '604800']);
    for (const bad of [0, 604_801, 2.5]) expect(() => sign(bad)).toThrow('expires must be an integer from 1 to 604800 (seconds)');
  });

  it('presignV4 replaces auth parameters already in the query, keeps a token that is there and adds one that is not', () => {
    const first = presignV4({ ...req(), host: 'h' }, { ...creds, securityToken: 'TOK' }, { region: 'r', date: DATE });
    expect(first.query.filter(([k]) => k === 'X-Amz-Security-Token')).toEqual([['X-Amz-Security-Token', 'TOK']]);
    expect(first.query.map(([k]) => k)).toEqual([
      'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Security-Token', 'X-Amz-Signature',
    ]);
    expect(first.canonicalRequest).toContain('X-Amz-Security-Token=TOK');
    // A server recomputing from the received query: the token is in it and is signed, once.
    const again = presignV4({ ...req(), host: 'h', query: first.query.filter(([k]) => k !== 'X-Amz-Signature') }, { ...creds, securityToken: 'TOK' }, { region: 'r', date: DATE });
    expect(again.query.filter(([k]) => k.toLowerCase() === 'x-amz-security-token')).toHaveLength(1);
    expect(again.canonicalRequest).toContain('X-Amz-Security-Token=TOK');
    expect(again.query.filter(([k]) => k === 'X-Amz-Algorithm')).toHaveLength(1);
    expect(again.query.find(([k]) => k === 'X-Amz-Credential')?.[1]).toBe('AK/20250701/r/s3/aws4_request');
    expect(again.canonicalRequest.split('\n').at(-1)).toBe('UNSIGNED-PAYLOAD');
  });

  it('presignV4 adds the token also when the query has other parameters, and names the algorithm', () => {
    const p = presignV4({ ...req({ query: [['uploadId', 'U']] }), host: 'h' }, { ...creds, securityToken: 'TOK' }, { region: 'r', date: DATE });
    expect(p.query).toContainEqual(['X-Amz-Security-Token', 'TOK']);
    expect(p.query).toContainEqual(['X-Amz-Algorithm', 'AWS4-HMAC-SHA256']);
    expect(p.query[0]).toEqual(['uploadId', 'U']);
  });
});

describe('signV4 details', () => {
  it('the empty-body hash is SHA-256 of nothing, in hex', () => {
    expect(EMPTY_SHA256).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('signs the Host header as given, and adds req.host only when there is none', () => {
    const given = signV4({ ...req({ headers: { Host: 'bucket.obs.example.com' } }), host: 'h' }, creds, { region: 'r', date: DATE });
    expect(given.canonicalRequest).toContain('host:bucket.obs.example.com\n');
    expect(signV4({ ...req(), host: 'h' }, creds, { region: 'r', date: DATE }).canonicalRequest).toContain('host:h\n');
  });

  it('adds x-amz-date (unless Date is sent) and the session token, and signs them', () => {
    const a = signV4({ ...req(), host: 'h' }, { ...creds, securityToken: 'TOK' }, { region: 'r', date: DATE });
    expect(a.addedHeaders).toEqual({ 'x-amz-date': '20250701T000000Z', 'x-amz-security-token': 'TOK' });
    expect(a.signedHeaders).toEqual(['host', 'x-amz-date', 'x-amz-security-token']);
    const b = signV4({ ...req(), host: 'h', headers: { Date: 'Tue, 01 Jul 2025 00:00:00 GMT', 'X-Amz-Security-Token': 'MINE' } }, { ...creds, securityToken: 'TOK' }, { region: 'r', date: DATE });
    expect(b.addedHeaders).toEqual({});
    expect(b.signedHeaders).toEqual(['date', 'host', 'x-amz-security-token']);
    expect(b.canonicalRequest).toContain('x-amz-security-token:MINE');
  });

  it('never signs hop-by-hop headers; an explicit list is lower-cased and de-duplicated', () => {
    const hop = {
      Authorization: 'old', Connection: 'keep-alive', Expect: '100-continue', 'Keep-Alive': '5', TE: 'trailers', Trailer: 'x',
      'Transfer-Encoding': 'chunked', Upgrade: 'h2c', 'User-Agent': 'u', 'X-Amzn-Trace-Id': 't', 'Proxy-Authorization': 'p',
    };
    const a = signV4({ ...req(), host: 'h', headers: { ...hop, 'x-custom': '1' } }, creds, { region: 'r', date: DATE });
    expect(a.signedHeaders).toEqual(['host', 'x-amz-date', 'x-custom']);
    const b = signV4({ ...req(), host: 'h', headers: { 'x-custom': '1' } }, creds, { region: 'r', date: DATE, signedHeaders: ['Host', 'host', 'X-Custom'] });
    expect(b.signedHeaders).toEqual(['host', 'x-custom']);
    expect(b.addedHeaders).toEqual({});
  });

  it('uses the x-amz-content-sha256 header, the given payload hash, or the empty-body hash, and refuses a contradiction', () => {
    const line = (r: ReturnType<typeof signV4>) => r.canonicalRequest.split('\n').at(-1);
    expect(line(signV4({ ...req(), host: 'h' }, creds, { region: 'r', date: DATE }))).toBe(EMPTY_SHA256);
    expect(line(signV4({ ...req(), host: 'h' }, creds, { region: 'r', date: DATE, payloadHash: 'UNSIGNED-PAYLOAD' }))).toBe('UNSIGNED-PAYLOAD');
    const sent = signV4({ ...req(), host: 'h', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }, creds, { region: 'r', date: DATE, payloadHash: 'UNSIGNED-PAYLOAD' });
    expect(line(sent)).toBe('UNSIGNED-PAYLOAD');
    expect(sent.signedHeaders).toContain('x-amz-content-sha256');
    expect(() => signV4({ ...req(), host: 'h', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }, creds, { region: 'r', date: DATE, payloadHash: 'abc' })).toThrow(
      'payloadHash differs from the x-amz-content-sha256 header',
    );
    // Not signed, but still what the canonical request ends with.
    const unsigned = signV4({ ...req(), host: 'h', headers: { 'x-amz-content-sha256': 'STREAMING-X' } }, creds, { region: 'r', date: DATE, signedHeaders: ['host'] });
    expect(line(unsigned)).toBe('STREAMING-X');
    expect(unsigned.signedHeaders).toEqual(['host']);
  });

  it('signs a literal + in the path as %2B and the service given', () => {
    const a = signV4({ ...req({ path: '/b/a+b' }), host: 'h' }, creds, { region: 'r', date: DATE });
    expect(a.canonicalRequest.split('\n')[1]).toBe('/b/a%2Bb');
    expect(a.authorization).toContain('/r/s3/aws4_request');
    expect(signV4({ ...req(), host: 'h' }, creds, { region: 'r', date: DATE, service: 'obs' }).authorization).toContain('/r/obs/aws4_request');
    const q = signV4({ ...req({ query: [['uploads', null]] }), host: 'h' }, creds, { region: 'r', date: DATE });
    expect(q.canonicalRequest.split('\n')[2]).toBe('uploads=');
  });
});

describe('parsers', () => {
  it('parseAmzDate reads YYYYMMDDTHHMMSSZ and nothing else', () => {
    expect(parseAmzDate('20250701T123456Z')?.toISOString()).toBe('2025-07-01T12:34:56.000Z');
    expect(parseAmzDate('20251231T235959Z')?.toISOString()).toBe('2025-12-31T23:59:59.000Z');
    for (const bad of ['2025071T123456Z', '20250701T123456', 'x20250701T123456Z', '20250701T123456Zx', '2025-07-01T12:34:56Z', 'abcdefghTijklmnZ', '']) {
      expect(parseAmzDate(bad), bad).toBeUndefined();
    }
  });

  it.each([
    ['  OBS AK:sig  ', { mode: 'obs', accessKeyId: 'AK', signature: 'sig' }],
    ['AWS a:b:sig', { mode: 'v2', accessKeyId: 'a:b', signature: 'sig' }],
    ['OBS   AK:sig', { mode: 'obs', accessKeyId: 'AK', signature: 'sig' }],
    [
      'AWS4-HMAC-SHA256 Credential = AK/20250701/r/s3/aws4_request , SignedHeaders= Host ; X-Amz-Date ,Signature=ab=cd',
      { mode: 'v4', accessKeyId: 'AK', credentialScope: { date: '20250701', region: 'r', service: 's3' }, signedHeaders: ['host', 'x-amz-date'], signature: 'ab=cd' },
    ],
  ])('parseAuthorization(%j)', (value, expected) => {
    expect(parseAuthorization(value)).toEqual(expected);
  });

  it.each([
    'OBS', 'OBS :sig', 'OBS AK: sig', 'OBS A K:sig', 'obs AK:sig', 'AWS AK', 'AWS4-HMAC-SHA256',
    'AWS4-HMAC-SHA256 Credential=AK/20250701/r/s3/aws4_request, SignedHeaders=host',
    'AWS4-HMAC-SHA256 Credential=AK/20250701/r/s3/aws4_request, Signature=1',
    'AWS4-HMAC-SHA256 Credential=AK/20250701/r/s3/aws4_request, SignedHeaders=host, Signature',
    'AWS4-HMAC-SHA256 Credential=AK/20250701/r/s3/aws5_request, SignedHeaders=host, Signature=1',
    'AWS4-HMAC-SHA256 Credential=AK/20250701/r/s3, SignedHeaders=host, Signature=1',
    'AWS4-HMAC-SHA256 Credential=AK/20250701/r/s3/aws4_request/x, SignedHeaders=host, Signature=1',
    'AWS4-HMAC-SHA256 Credential=AK/2025070/r/s3/aws4_request, SignedHeaders=host, Signature=1',
    'AWS4-HMAC-SHA256 Credential=AK/202507011/r/s3/aws4_request, SignedHeaders=host, Signature=1',
    'AWS4-HMAC-SHA256 Credential=AK/x20250701/r/s3/aws4_request, SignedHeaders=host, Signature=1',
    'AWS4-HMAC-SHA256 Credential=AK/20250701/r/s3/aws4_request, SignedHeaders=, Signature=1',
    'AWS4-HMAC-SHA256 Credential=AK/20250701/r/s3/aws4_request, SignedHeaders=host, Signature=',
    'AWS4-HMAC-SHA256 Credential=AK/20250701/r/s3/aws4_request, SignedHeaders=host, Signature=1, junk',
    'Bearer Credential=AK/20250701/r/s3/aws4_request, SignedHeaders=host, Signature=1',
  ])('parseAuthorization rejects %j', (value) => {
    expect(parseAuthorization(value)).toBeUndefined();
  });

  it('parsePresignedQuery reads OBS, V2 and V4 query authentication, and rejects incomplete ones', () => {
    expect(parsePresignedQuery([['AccessKeyId', 'AK'], ['Expires', '9'], ['Signature', 's']])).toEqual({ mode: 'obs', accessKeyId: 'AK', signature: 's', expires: 9 });
    expect(parsePresignedQuery([['AWSAccessKeyId', 'AK'], ['Expires', '9'], ['Signature', 's']])).toEqual({ mode: 'v2', accessKeyId: 'AK', signature: 's', expires: 9 });
    expect(parsePresignedQuery([['AccessKeyId', null], ['Expires', '9'], ['Signature', 's']])).toEqual({ mode: 'obs', accessKeyId: '', signature: 's', expires: 9 });
    expect(parsePresignedQuery([['Expires', '9'], ['Signature', 's']])).toBeUndefined();
    expect(parsePresignedQuery([['AccessKeyId', 'AK'], ['Expires', 'soon'], ['Signature', 's']])).toBeUndefined();
    expect(parsePresignedQuery([['AccessKeyId', 'AK'], ['Expires', '9']])).toBeUndefined();
    const v4 = (drop: string, over: Array<[string, string]> = []) =>
      parsePresignedQuery(
        ([
          ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
          ['X-Amz-Credential', 'AK/20250701/r/s3/aws4_request'],
          ['X-Amz-Date', '20250701T000000Z'],
          ['X-Amz-Expires', '60'],
          ['X-Amz-SignedHeaders', 'host'],
          ['X-Amz-Signature', 'sig'],
          ...over,
        ] as Array<[string, string]>).filter(([k]) => k !== drop).map(([k, v]) => [k, over.find(([o]) => o === k)?.[1] ?? v] as [string, string]),
      );
    expect(v4('')).toEqual({
      mode: 'v4', accessKeyId: 'AK', credentialScope: { date: '20250701', region: 'r', service: 's3' }, signedHeaders: ['host'], signature: 'sig', amzDate: '20250701T000000Z', expiresSeconds: 60,
    });
    for (const drop of ['X-Amz-Credential', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Signature']) expect(v4(drop), drop).toBeUndefined();
    expect(v4('', [['X-Amz-Expires', '1.5']])).toBeUndefined();
    expect(v4('', [['X-Amz-Algorithm', 'AWS4-HMAC-SHA1']])).toBeUndefined();
    expect(v4('', [['X-Amz-Credential', 'AK/2025/r/s3/aws4_request']])).toBeUndefined();
  });

  it('parseQuery keeps bare names, a literal +, undecodable parts as sent, and skips empty pieces', () => {
    expect(parseQuery('')).toEqual([]);
    expect(parseQuery('a=1&&uploads&b=x%2By+z&=v&c=%E0%A4%A&d=1=2')).toEqual([
      ['a', '1'], ['uploads', null], ['b', 'x+y+z'], ['', 'v'], ['c', '%E0%A4%A'], ['d', '1=2'],
    ]);
  });

  it('timingSafeEqualStr compares whole strings only', () => {
    expect(timingSafeEqualStr('', '')).toBe(true);
    expect(timingSafeEqualStr('abcd', 'abc')).toBe(false);
    expect(timingSafeEqualStr('é', 'e')).toBe(false);
    expect(timingSafeEqualStr('sig', 'sig')).toBe(true);
  });
});
