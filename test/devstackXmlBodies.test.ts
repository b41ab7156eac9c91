import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { startDevstack, type Devstack } from '@obsq/devstack';
import { formatAmzDate, ObsClient, parseXml, signV4, xmlText } from '@obsq/storage';

/**
 * devstack reads the XML request bodies the way S3 does: character references decoded (Go clients
 * such as rclone write an ETag's quotes as `&#34;`), malformed references, unknown entities and
 * DOCTYPEs refused with `MalformedXML` — and the server keeps serving afterwards.
 * Bodies are sent raw through presigned URLs, so the test controls every byte.
 */
describe('devstack XML request bodies', () => {
  let ds: Devstack;
  let client: ObsClient;
  const agent = new Agent({ keepAliveTimeout: 10 });
  const PART = 100 * 1024;

  beforeAll(async () => {
    ds = await startDevstack({ buckets: ['xml'] });
    client = new ObsClient({
      endpoint: ds.obs.endpoint,
      signature: 'v4',
      pathStyle: true,
      region: ds.obs.region,
      credentials: { accessKeyId: ds.obs.accessKeyId, secretAccessKey: ds.obs.secretAccessKey },
      keepAliveTimeoutMs: 10,
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    await client?.close();
    await agent.close();
    await ds?.close();
  });

  async function send(method: 'POST' | 'PUT', bucket: string, key: string | undefined, query: Record<string, string>, body: string | Buffer) {
    const { signedUrl, actualSignedRequestHeaders } = client.createSignedUrl({ method, bucket, ...(key ? { key } : {}), queryParams: query });
    const res = await request(signedUrl, { method, headers: { ...actualSignedRequestHeaders, 'content-type': 'application/xml' }, body, dispatcher: agent });
    const text = await res.body.text();
    return { status: res.statusCode, text, code: res.statusCode >= 300 ? xmlText(parseXml(text).Error, 'Code') : '' };
  }

  /** A header-signed V4 request whose x-amz-content-sha256 the caller chooses (signed, as SDKs do). */
  async function sendSigned(path: string, query: Array<[string, string]>, body: string, extra: Record<string, string>) {
    const host = new URL(ds.obs.endpoint).host;
    const headers: Record<string, string> = {
      host,
      'x-amz-date': formatAmzDate(new Date()),
      'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
      'content-type': 'application/xml',
      ...extra,
    };
    const creds = { accessKeyId: ds.obs.accessKeyId, secretAccessKey: ds.obs.secretAccessKey };
    const { authorization } = signV4({ method: 'POST', path, query, headers, host }, creds, { region: ds.obs.region, date: new Date() });
    const search = query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
    const res = await request(`${ds.obs.endpoint}${path}?${search}`, { method: 'POST', headers: { ...headers, authorization }, body, dispatcher: agent });
    const text = await res.body.text();
    return { status: res.statusCode, text, code: res.statusCode >= 300 ? xmlText(parseXml(text).Error, 'Code') : '' };
  }

  async function twoParts(key: string): Promise<{ uploadId: string; etags: string[]; content: Buffer }> {
    const content = randomBytes(PART + 777);
    const { uploadId } = (await client.initiateMultipartUpload({ bucket: 'xml', key })).body!;
    const etags: string[] = [];
    for (const [n, chunk] of [content.subarray(0, PART), content.subarray(PART)].entries()) {
      etags.push((await client.uploadPart({ bucket: 'xml', key, uploadId, partNumber: n + 1, body: chunk })).body!.etag);
    }
    return { uploadId, etags, content };
  }

  it('Complete with Go-style &#34; ETags succeeds and the object is whole', async () => {
    const { uploadId, etags, content } = await twoParts('go-style');
    expect(etags[0]).toMatch(/^"[0-9a-f]{32}"$/);
    const goQuote = (e: string) => e.replaceAll('"', '&#34;');
    const body =
      '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Part><ETag>${goQuote(etags[0]!)}</ETag><PartNumber>1</PartNumber></Part>` +
      `<Part><ETag>${etags[1]!.replaceAll('"', '&#x22;')}</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>`;
    const r = await send('POST', 'xml', 'go-style', { uploadId }, body);
    expect(r.status, r.text).toBe(200);
    const md5s = Buffer.concat(etags.map((e) => Buffer.from(e.slice(1, -1), 'hex')));
    expect(xmlText(parseXml(r.text).CompleteMultipartUploadResult, 'ETag')).toBe(`"${createHash('md5').update(md5s).digest('hex')}-2"`);
    const head = await client.headObject({ bucket: 'xml', key: 'go-style' });
    expect(head.body?.contentLength).toBe(content.length);
  });

  it.each([
    ['&#0;', (e: string) => `&#0;${e}`],
    ['&#x110000;', (e: string) => `${e}&#x110000;`],
    ['an unknown entity', (e: string) => `&ldquo;${e}`],
    ['a bare &', (e: string) => `${e}&`],
  ])('Complete with %s is MalformedXML, the upload stays usable', async (_what, spoil) => {
    const key = `bad-${randomBytes(4).toString('hex')}`;
    const { uploadId, etags } = await twoParts(key);
    const parts = (f: (e: string) => string) =>
      `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${f(etags[0]!)}</ETag></Part>` +
      `<Part><PartNumber>2</PartNumber><ETag>${etags[1]!}</ETag></Part></CompleteMultipartUpload>`;
    const bad = await send('POST', 'xml', key, { uploadId }, parts(spoil));
    expect(bad).toMatchObject({ status: 400, code: 'MalformedXML' });
    const good = await send('POST', 'xml', key, { uploadId }, parts((e) => e));
    expect(good.status, good.text).toBe(200);
  });

  it('billion laughs and external entities are refused without expansion', async () => {
    const key = 'laughs';
    const { uploadId } = await twoParts(key);
    const entities = Array.from({ length: 10 }, (_, i) => (i === 0 ? '<!ENTITY l0 "lol">' : `<!ENTITY l${i} "${`&l${i - 1};`.repeat(10)}">`)).join('');
    const laughs = `<?xml version="1.0"?><!DOCTYPE c [${entities}]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&l9;</ETag></Part></CompleteMultipartUpload>`;
    expect(await send('POST', 'xml', key, { uploadId }, laughs)).toMatchObject({ status: 400, code: 'MalformedXML' });
    const xxe = '<!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&x;</ETag></Part></CompleteMultipartUpload>';
    expect(await send('POST', 'xml', key, { uploadId }, xxe)).toMatchObject({ status: 400, code: 'MalformedXML' });
    expect((await client.headBucket({ bucket: 'xml' })).status).toBe(200);
  });

  it('CreateBucket: a configuration body is read (references decoded), a malformed one refused', async () => {
    const ok = await send('PUT', 'made-with-config', undefined, {}, `<CreateBucketConfiguration><LocationConstraint>${ds.obs.region.replaceAll('-', '&#45;')}</LocationConstraint></CreateBucketConfiguration>`);
    expect(ok.status, ok.text).toBe(200);
    expect(await send('PUT', 'made-without', undefined, {}, '')).toMatchObject({ status: 200 });
    for (const body of ['<CreateBucketConfiguration><LocationConstraint>&#0;</LocationConstraint></CreateBucketConfiguration>', '<Nope/>', '<!DOCTYPE x><CreateBucketConfiguration/>']) {
      expect(await send('PUT', 'never-made', undefined, {}, body)).toMatchObject({ status: 400, code: 'MalformedXML' });
    }
    expect((await client.headBucket({ bucket: 'never-made' }).catch((e: { result: { status: number } }) => e.result)).status).toBe(404);
  });

  it('the Complete body is checked against Content-MD5 and a signed x-amz-content-sha256', async () => {
    const { uploadId, etags } = await twoParts('digests');
    const body =
      `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etags[0]!.replaceAll('"', '&#34;')}</ETag></Part>` +
      `<Part><PartNumber>2</PartNumber><ETag>${etags[1]!}</ETag></Part></CompleteMultipartUpload>`;
    const md5 = (t: string) => createHash('md5').update(t).digest('base64');
    const query: Array<[string, string]> = [['uploadId', uploadId]];
    expect(await sendSigned('/xml/digests', query, body, { 'x-amz-content-sha256': createHash('sha256').update('other').digest('hex') }))
      .toMatchObject({ status: 400, code: 'XAmzContentSHA256Mismatch' });
    expect(await sendSigned('/xml/digests', query, body, { 'content-md5': md5('other') })).toMatchObject({ status: 400, code: 'BadDigest' });
    expect(await sendSigned('/xml/digests', query, body, { 'content-md5': 'bm90IGFuIG1kNQ==' })).toMatchObject({ status: 400, code: 'InvalidDigest' });
    const good = await sendSigned('/xml/digests', query, body, { 'content-md5': md5(body) });
    expect(good.status, good.text).toBe(200);
  });
});
