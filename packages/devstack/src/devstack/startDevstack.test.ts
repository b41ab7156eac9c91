import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { ObsClient, formatQuery, presignV2, presignV4, signV2, authorizationV2 } from '@obsq/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevstack, type Devstack } from './startDevstack.js';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A plain HTTP/1.1 request on a fresh connection (Host may name a virtual-hosted bucket). */
function raw(port: number, opts: { method: string; path: string; headers?: Record<string, string>; body?: string }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method, path: opts.path, headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

let ds: Devstack;
let client: ObsClient;

beforeAll(async () => {
  ds = await startDevstack({ buckets: ['unit'], seed: 3, requireContentMd5: true });
  client = new ObsClient({
    endpoint: ds.obs.endpoint,
    region: ds.obs.region,
    signature: 'v4',
    credentials: { accessKeyId: ds.obs.accessKeyId, secretAccessKey: ds.obs.secretAccessKey },
    retryBackoff: { baseMs: 1, maxMs: 5 },
  });
});

afterAll(async () => {
  await client?.close();
  await ds?.close();
});

describe('admin API', () => {
  it('replaces faults and reads/zeroes stats over HTTP without a signature', async () => {
    const put = await raw(ds.obs.port, {
      method: 'PUT',
      path: '/__devstack/faults',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ seed: 9, faults: [{ op: 'HeadBucket', times: 1, error: { status: 500, code: 'InternalError' } }] }),
    });
    expect(put.status).toBe(200);
    expect(JSON.parse(put.body)).toMatchObject({ seed: 9, faults: [{ op: 'HeadBucket' }] });
    await raw(ds.obs.port, { method: 'DELETE', path: '/__devstack/stats' });

    const head = await client.headBucket({ bucket: 'unit' });
    expect(head.status).toBe(200);
    const stats = JSON.parse((await raw(ds.obs.port, { method: 'GET', path: '/__devstack/stats' })).body);
    expect(stats.operations.HeadBucket).toEqual({ requests: 2, faults: { error: 1, latency: 0, reset: 0, tamper: 0 } });

    const bad = await raw(ds.obs.port, { method: 'PUT', path: '/__devstack/faults', body: '[{"op":"X","rate":7}]' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toMatch(/rate/);
    ds.setFaults([]);
  });

  it('changes minPartSize and the CopyObject limit at runtime', async () => {
    const res = await raw(ds.obs.port, { method: 'PUT', path: '/__devstack/settings', body: JSON.stringify({ minPartSize: 5, copyObjectMaxBytes: 10 }) });
    expect(JSON.parse(res.body)).toEqual({ minPartSize: 5, copyObjectMaxBytes: 10, requireContentMd5: true });
    try {
      const init = await client.initiateMultipartUpload({ bucket: 'unit', key: 'small-parts' });
      const uploadId = init.body?.uploadId as string;
      const e1 = await client.uploadPart({ bucket: 'unit', key: 'small-parts', uploadId, partNumber: 1, body: Buffer.from('123456') });
      const e2 = await client.uploadPart({ bucket: 'unit', key: 'small-parts', uploadId, partNumber: 2, body: Buffer.from('7') });
      const done = await client.completeMultipartUpload({
        bucket: 'unit', key: 'small-parts', uploadId,
        parts: [{ partNumber: 1, etag: e1.body?.etag as string }, { partNumber: 2, etag: e2.body?.etag as string }],
      });
      expect(done.status).toBe(200);

      await client.putObject({ bucket: 'unit', key: 'eleven', body: Buffer.from('01234567890') });
      const err = await client.copyObject({ bucket: 'unit', key: 'copy', sourceBucket: 'unit', sourceKey: 'eleven' }).catch((e: { result: unknown }) => e.result);
      expect(err).toMatchObject({ status: 400, errorCode: 'InvalidRequest', errorMessage: expect.stringMatching(/larger than the maximum/) });
    } finally {
      ds.configure({ minPartSize: 100 * 1024, copyObjectMaxBytes: 5 * 1024 ** 3 });
    }
  });
});

describe('fault injection', () => {
  it('resets the connection mid-body; the client retries and the stats show it', async () => {
    ds.resetStats();
    ds.setFaults([{ op: 'PutObject', times: 1, reset: { afterBytes: 64 * 1024 } }]);
    const body = randomBytes(256 * 1024);
    const put = await client.putObject({ bucket: 'unit', key: 'reset', body });
    expect(put.status).toBe(200);
    expect(ds.stats().operations.PutObject).toEqual({ requests: 2, faults: { error: 0, latency: 0, reset: 1, tamper: 0 } });
    const got = await client.getObject({ bucket: 'unit', key: 'reset' });
    const chunks: Buffer[] = [];
    for await (const c of got.body?.response ?? []) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
    ds.setFaults([]);
  });

  it('adds latency to the chosen operation only', async () => {
    ds.resetStats();
    ds.setFaults([{ op: 'HeadObject', latencyMs: 150 }]);
    const t0 = performance.now();
    await client.headObject({ bucket: 'unit', key: 'reset' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    await client.headBucket({ bucket: 'unit' });
    expect(ds.stats().operations).toMatchObject({
      HeadObject: { faults: { latency: 1 } },
      HeadBucket: { faults: { latency: 0 } },
    });
    ds.setFaults([]);
  });
});

describe('authentication and error shapes', () => {
  const creds = () => ({ accessKeyId: ds.obs.accessKeyId, secretAccessKey: ds.obs.secretAccessKey });

  it('accepts presigned V2 and V4 URLs and refuses expired ones', async () => {
    await client.putObject({ bucket: 'unit', key: 'signed.txt', body: Buffer.from('signed') });
    const req = { method: 'GET', path: '/unit/signed.txt', query: [] as Array<[string, string | null]>, headers: {} };
    const v2 = presignV2('v2', req, creds(), { expires: 60 });
    expect((await raw(ds.obs.port, { method: 'GET', path: `/unit/signed.txt?${formatQuery(v2.query)}` })).body).toBe('signed');
    const host = `127.0.0.1:${ds.obs.port}`;
    const v4 = presignV4({ ...req, host }, creds(), { region: ds.obs.region, date: new Date(), expires: 60 });
    expect((await raw(ds.obs.port, { method: 'GET', path: `/unit/signed.txt?${formatQuery(v4.query)}` })).body).toBe('signed');

    const old = presignV2('v2', req, creds(), { expires: 1, now: new Date(Date.now() - 3_600_000) });
    const expired = await raw(ds.obs.port, { method: 'GET', path: `/unit/signed.txt?${formatQuery(old.query)}` });
    expect(expired.status).toBe(403);
    expect(expired.body).toContain('<Message>Request has expired</Message>');

    const tampered = await raw(ds.obs.port, { method: 'GET', path: `/unit/signed.txt?${formatQuery(v4.query).replace(/X-Amz-Expires=60/, 'X-Amz-Expires=61')}` });
    expect(tampered.body).toContain('<Code>SignatureDoesNotMatch</Code>');
  });

  it('answers RequestTimeTooSkewed to a header signature 20 minutes old', async () => {
    const date = new Date(Date.now() - 20 * 60_000).toUTCString();
    const req = { method: 'GET', path: '/unit/signed.txt', query: [], headers: { date } };
    const sig = signV2('v2', req, ds.obs.secretAccessKey);
    const res = await raw(ds.obs.port, { method: 'GET', path: req.path, headers: { date, authorization: authorizationV2('v2', ds.obs.accessKeyId, sig) } });
    expect(res.status).toBe(403);
    expect(res.body).toContain('<Code>RequestTimeTooSkewed</Code>');
    // An S3-dialect request gets x-amz-* ids and no OBS indicator.
    expect(res.headers['x-amz-request-id']).toMatch(/^[0-9A-F]{32}$/);
    expect(res.headers['x-reserved-indicator']).toBeUndefined();
  });

  it('signs OBS natively on virtual-hosted requests and answers HEAD errors with headers only', async () => {
    const date = new Date().toUTCString();
    const req = { method: 'HEAD', path: '/missing', query: [], headers: { date }, virtualHostBucket: 'unit' };
    const sig = signV2('obs', req, ds.obs.secretAccessKey);
    const res = await raw(ds.obs.port, {
      method: 'HEAD',
      path: '/missing',
      headers: { host: `unit.obs.localhost:${ds.obs.port}`, date, authorization: authorizationV2('obs', ds.obs.accessKeyId, sig) },
    });
    expect(res.status).toBe(404);
    expect(res.body).toBe('');
    expect(res.headers).toMatchObject({
      'x-obs-error-code': 'NoSuchKey',
      'x-obs-error-message': 'The specified key does not exist.',
      'x-obs-request-id': expect.stringMatching(/^[0-9A-F]{32}$/),
      'x-obs-id-2': expect.any(String),
      'x-reserved-indicator': expect.any(String),
    });
  });

  it('refuses anonymous requests with AccessDenied XML (OBS dialect by default)', async () => {
    const res = await raw(ds.obs.port, { method: 'GET', path: '/unit/signed.txt' });
    expect(res.status).toBe(403);
    expect(res.body).toMatch(/<Error><Code>AccessDenied<\/Code><Message>[^<]+<\/Message><RequestId>[0-9A-F]{32}<\/RequestId><HostId>[^<]+<\/HostId><Resource>\/unit\/signed.txt<\/Resource><\/Error>/);
    expect(res.headers['x-obs-request-id']).toBeDefined();
  });

  it('answers the esdk negotiation HEAD /?apiversion without a signature', async () => {
    const res = await raw(ds.obs.port, { method: 'HEAD', path: '/?apiversion', headers: { host: `unit.obs.localhost:${ds.obs.port}` } });
    expect([res.status, res.headers['x-obs-api']]).toEqual([200, '3.0']);
    const missing = await raw(ds.obs.port, { method: 'HEAD', path: '/?apiversion', headers: { host: `nope.obs.localhost:${ds.obs.port}` } });
    expect(missing.status).toBe(404);
  });
});

describe('keys that need encoding', () => {
  it.each(['obs', 'v2', 'v4'] as const)('round-trip with %s signatures', async (signature) => {
    const c = new ObsClient({
      endpoint: signature === 'obs' ? ds.obs.virtualHostedEndpoint : ds.obs.endpoint,
      region: ds.obs.region,
      signature,
      credentials: { accessKeyId: ds.obs.accessKeyId, secretAccessKey: ds.obs.secretAccessKey },
      maxAttempts: 1,
    });
    try {
      const key = `dir/a b+c(ü)!*'~%20=&?.txt`;
      await c.putObject({ bucket: 'unit', key, body: Buffer.from(signature), metadata: { mode: signature } });
      const head = await c.headObject({ bucket: 'unit', key });
      expect(head.body).toMatchObject({ contentLength: signature.length, metadata: { mode: signature } });
      const list = await c.listObjects({ bucket: 'unit', prefix: 'dir/a b+c' });
      expect(list.body?.contents.map((o) => o.key)).toContain(key);
    } finally {
      await c.close();
    }
  });
});

describe('close', () => {
  it('is idempotent and destroys open keep-alive sockets', async () => {
    const other = await startDevstack();
    const socket = connect(other.obs.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await Promise.all([other.close(), other.close()]);
    await closed;
    expect(socket.destroyed).toBe(true);
    await expect(raw(other.obs.port, { method: 'GET', path: '/' })).rejects.toThrow();
  });

  it('validates options with messages that name them', async () => {
    await expect(startDevstack({ obsPort: -1 })).rejects.toThrow(/obsPort/);
    await expect(startDevstack({ accessKeyId: 'AK' })).rejects.toThrow(/secretAccessKey/);
  });
});
