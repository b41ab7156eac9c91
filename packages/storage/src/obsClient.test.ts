import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ObsqError, ValidationError } from '@obsq/shared';
import { ObsClient } from './obsClient.js';
import type { ObsClientOptions, StorageRequestEvent } from './obsClientOptions.js';
import {
  parseAmzDate,
  parseAuthorization,
  parsePresignedQuery,
  parseQuery,
  presignV4,
  signV2,
  signV4,
  timingSafeEqualStr,
  type SignableRequest,
} from './signing/index.js';
import { StorageError } from './storageError.js';

const CREDS = { accessKeyId: 'AK', secretAccessKey: 'SK' };

interface Seen {
  method: string;
  host: string;
  path: string;
  query: Array<[string, string | null]>;
  headers: Record<string, string>;
  body: Buffer;
  /** The signature the fake server recomputed matched the one sent. */
  verified: boolean;
}

type Handler = (req: Seen, res: ServerResponse, socket: Socket) => void;

/**
 * A fake storage endpoint on 127.0.0.1:0 that verifies every signature with the same signing
 * functions the devstack uses, then answers from a per-test script.
 */
class FakeStorage {
  readonly seen: Seen[] = [];
  private script: Handler[] = [];
  private fallback: Handler = (_req, res) => res.writeHead(200).end();
  private readonly sockets = new Set<Socket>();
  private server!: Server;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  reply(...handlers: Handler[]): void {
    this.script = handlers;
  }

  otherwise(handler: Handler): void {
    this.fallback = handler;
  }

  reset(): void {
    this.seen.length = 0;
    this.script = [];
    this.fallback = (_req, res) => res.writeHead(200).end();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  openSockets(): number {
    return this.sockets.size;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const seen: Seen = {
      method: req.method ?? '',
      host: headers.host ?? '',
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? [] : parseQuery(url.slice(q + 1)),
      headers,
      body: Buffer.concat(chunks),
      verified: false,
    };
    seen.verified = verify(seen);
    this.seen.push(seen);
    (this.script.shift() ?? this.fallback)(seen, res, req.socket);
  }
}

/** Server-side signature check, as the devstack does it. */
function verify(req: Seen): boolean {
  const auth = req.headers.authorization;
  const presigned = auth ? undefined : parsePresignedQuery(req.query);
  const parsed = auth ? parseAuthorization(auth) : presigned;
  if (!parsed || parsed.accessKeyId !== CREDS.accessKeyId) return false;
  if (parsed.mode === 'v4') {
    const presignedV4 = presigned?.mode === 'v4' ? presigned : undefined;
    const date = parseAmzDate(presignedV4 ? presignedV4.amzDate : (req.headers['x-amz-date'] ?? ''));
    if (!date) return false;
    const scope = { region: parsed.credentialScope.region, service: parsed.credentialScope.service, date, signedHeaders: parsed.signedHeaders };
    if (presignedV4) {
      const p = presignV4({ method: req.method, path: req.path, query: req.query, headers: req.headers, host: req.host }, CREDS, { ...scope, expires: presignedV4.expiresSeconds });
      return timingSafeEqualStr(p.signature, parsed.signature);
    }
    const r = signV4(
      { method: req.method, path: req.path, query: req.query, headers: req.headers, host: req.host },
      CREDS,
      { region: parsed.credentialScope.region, service: parsed.credentialScope.service, date, signedHeaders: parsed.signedHeaders },
    );
    return timingSafeEqualStr(r.signature, parsed.signature);
  }
  const hostName = req.host.replace(/:\d+$/, '');
  const vhost = /^([^.]+)\.(obs|s3)\.localhost$/.exec(hostName)?.[1];
  const signable: SignableRequest = { method: req.method, path: req.path, query: req.query, headers: req.headers, ...(vhost ? { virtualHostBucket: vhost } : {}) };
  const expires = presigned && presigned.mode !== 'v4' ? String(presigned.expires) : undefined;
  return timingSafeEqualStr(signV2(parsed.mode, signable, CREDS.secretAccessKey, expires), parsed.signature);
}

const xml = (status: number, body: string, headers: Record<string, string> = {}): Handler => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/xml', ...headers }).end(body);
};
const errorXml = (status: number, code: string, headers: Record<string, string> = {}) =>
  xml(status, `<Error><Code>${code}</Code><Message>${code} happened</Message><RequestId>RID</RequestId></Error>`, headers);
const ok = (headers: Record<string, string> = {}): Handler => (_req, res) => res.writeHead(200, headers).end();

describe('ObsClient against a verifying fake server', () => {
  const fake = new FakeStorage();
  const clients: ObsClient[] = [];
  let events: StorageRequestEvent[] = [];

  const make = (opts: Partial<ObsClientOptions> = {}): ObsClient => {
    const c = new ObsClient({
      endpoint: `http://127.0.0.1:${fake.port}`,
      signature: 'v2',
      credentials: CREDS,
      keepAliveTimeoutMs: 10,
      retryBackoff: { baseMs: 1, maxMs: 5, jitter: 'full' },
      onRequest: (e) => events.push(e),
      ...opts,
    });
    clients.push(c);
    return c;
  };

  beforeAll(() => fake.start());
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    fake.reset();
    events = [];
  });
  afterAll(async () => {
    // Every client pool was closed in afterEach: their connections must be gone on our side too.
    for (let i = 0; i < 100 && fake.openSockets() > 0; i++) await sleep(20);
    const leftOpen = fake.openSockets();
    await fake.stop();
    expect(leftOpen, 'client connections left open').toBe(0);
  });

  describe('addressing and signatures', () => {
    it('OBS signature, virtual-hosted on loopback: Host carries the bucket, Date is sent', async () => {
      fake.reply(ok({ etag: '"e1"', 'x-obs-request-id': 'R1' }));
      const c = make({ endpoint: `http://obs.localhost:${fake.port}`, signature: 'obs' });
      const r = await c.uploadPart({ bucket: 'bkt', key: 'dir/a b.txt', uploadId: 'U1', partNumber: 3, body: Buffer.from('hello') });
      expect(r).toMatchObject({ status: 200, requestId: 'R1', body: { etag: '"e1"' } });
      const s = fake.seen[0]!;
      expect(s.host).toBe(`bkt.obs.localhost:${fake.port}`);
      expect(s.path).toBe('/dir/a%20b.txt');
      expect(s.query).toEqual([['partNumber', '3'], ['uploadId', 'U1']]);
      expect(s.headers.authorization).toMatch(/^OBS AK:/);
      expect(s.headers.date).toBeDefined();
      expect(s.headers['content-length']).toBe('5');
      expect(s.body.toString()).toBe('hello');
      expect(s.verified).toBe(true);
    });

    it('OBS mode sends x-obs-* headers (copy source, metadata directive)', async () => {
      fake.reply(xml(200, '<CopyObjectResult><LastModified>2025-07-01T00:00:00.000Z</LastModified><ETag>"c1"</ETag></CopyObjectResult>', { 'x-obs-version-id': 'V9' }));
      const c = make({ endpoint: `http://obs.localhost:${fake.port}`, signature: 'obs' });
      const r = await c.copyObject({ bucket: 'dst', key: 'k', sourceBucket: 'src', sourceKey: 'a b', sourceVersionId: 'v1', metadata: { x: 'y' }, ifMatch: '"m"' });
      expect(r.body).toMatchObject({ etag: '"c1"', versionId: 'V9', lastModified: '2025-07-01T00:00:00.000Z' });
      const h = fake.seen[0]!.headers;
      expect(h['x-obs-copy-source']).toBe('/src/a%20b?versionId=v1');
      expect(h['x-obs-metadata-directive']).toBe('REPLACE');
      expect(h['x-obs-meta-x']).toBe('y');
      expect(h['x-obs-copy-source-if-match']).toBe('"m"');
      expect(fake.seen[0]!.verified).toBe(true);
    });

    it('V4, path style: the server recomputes the signature from SignedHeaders', async () => {
      fake.reply(xml(200, '<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>UP</UploadId></InitiateMultipartUploadResult>'));
      const c = make({ signature: 'v4', region: 'cn-north-4', credentials: () => ({ ...CREDS, securityToken: 'TOKEN' }) });
      const r = await c.initiateMultipartUpload({ bucket: 'b', key: 'k', contentType: 'text/plain' });
      expect(r.body).toEqual({ bucket: 'b', key: 'k', uploadId: 'UP' });
      const s = fake.seen[0]!;
      expect(s.path).toBe('/b/k');
      expect(s.query).toEqual([['uploads', null]]);
      expect(s.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AK\/\d{8}\/cn-north-4\/s3\/aws4_request/);
      expect(s.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
      expect(s.headers['x-amz-security-token']).toBe('TOKEN');
      expect(s.verified).toBe(true);
    });

    it('V2, virtual-hosted via connectAddress', async () => {
      fake.reply(ok());
      const c = make({ endpoint: `http://s3.localhost:${fake.port}`, connectAddress: '127.0.0.1' });
      await c.headBucket({ bucket: 'vb' });
      expect(fake.seen[0]).toMatchObject({ host: `vb.s3.localhost:${fake.port}`, path: '/', verified: true });
    });

    it.each(['obs', 'v2', 'v4'] as const)('presigned URL (%s) verifies on the server', async (signature) => {
      const endpoint = signature === 'obs' ? `http://obs.localhost:${fake.port}` : `http://127.0.0.1:${fake.port}`;
      const c = make({ endpoint, signature });
      const { signedUrl, actualSignedRequestHeaders } = c.createSignedUrl({
        method: 'PUT', bucket: 'b', key: 'k', queryParams: { partNumber: 1, uploadId: 'U' }, headers: { 'Content-Type': 'application/octet-stream' },
      });
      expect(actualSignedRequestHeaders['content-type']).toBe('application/octet-stream');
      const url = new URL(signedUrl);
      fake.reply(ok());
      // Sent to loopback with the signed Host, as the client itself does.
      const agent = new Agent({ keepAliveTimeout: 10 });
      try {
        const res = await request(`http://127.0.0.1:${fake.port}${url.pathname}${url.search}`, {
          method: 'PUT',
          headers: { ...actualSignedRequestHeaders },
          body: 'x',
          dispatcher: agent,
        });
        await res.body.dump();
      } finally {
        await agent.close();
      }
      expect(fake.seen[0]!.verified).toBe(true);
    });
  });

  describe('retries', () => {
    it('retryable statuses are retried with a fresh signature until success', async () => {
      fake.reply(errorXml(503, 'SlowDown', { 'retry-after': '0' }), errorXml(500, 'InternalError'), ok({ etag: '"ok"' }));
      const c = make();
      const r = await c.uploadPart({ bucket: 'b', key: 'k', uploadId: 'U', partNumber: 1, body: Buffer.from('abc') });
      expect(r.body!.etag).toBe('"ok"');
      expect(fake.seen).toHaveLength(3);
      expect(fake.seen.every((s) => s.verified && s.body.toString() === 'abc')).toBe(true);
      expect(events.map((e) => [e.status, e.attempt, e.willRetry])).toEqual([[503, 1, true], [500, 2, true], [200, 3, false]]);
    });

    it('a file range is re-read on every attempt', async () => {
      const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const dir = await mkdtemp(join(tmpdir(), 'obsq-client-'));
      try {
        await writeFile(join(dir, 'f'), '0123456789');
        fake.reply(errorXml(500, 'InternalError'), ok({ etag: '"e"' }));
        await make().uploadPart({ bucket: 'b', key: 'k', uploadId: 'U', partNumber: 2, body: { path: join(dir, 'f'), start: 3, length: 4 } });
        expect(fake.seen.map((s) => s.body.toString())).toEqual(['3456', '3456']);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('permanent errors are not retried', async () => {
      fake.reply(errorXml(403, 'AccessDenied'));
      const err = (await make().headBucket({ bucket: 'b' }).catch((e: unknown) => e)) as StorageError;
      expect(err).toBeInstanceOf(StorageError);
      expect(err).toMatchObject({ code: 'OBSQ_STORAGE', permanent: true, attempts: 1 });
      expect(fake.seen).toHaveLength(1);
    });

    it('gives up after maxAttempts with the last record', async () => {
      fake.otherwise(errorXml(503, 'ServiceUnavailable'));
      const err = (await make({ maxAttempts: 2 }).headBucket({ bucket: 'b' }).catch((e: unknown) => e)) as StorageError;
      expect(err.attempts).toBe(2);
      expect(err.permanent).toBe(false);
      expect(err.result).toMatchObject({ status: 503, errorCode: 'ServiceUnavailable' });
    });

    it('a one-shot Readable body is sent once, even on a retryable status', async () => {
      fake.reply(errorXml(500, 'InternalError'));
      const err = (await make()
        .uploadPart({ bucket: 'b', key: 'k', uploadId: 'U', partNumber: 1, body: Readable.from([Buffer.from('xy')]), contentLength: 2 })
        .catch((e: unknown) => e)) as StorageError;
      expect(err.attempts).toBe(1);
      expect(err.permanent).toBe(false);
      expect(fake.seen).toHaveLength(1);
    });

    it('200 with an <Error> body (CopyObject) is a failure: retried, then reported with status 200', async () => {
      const internal = xml(200, '<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>');
      fake.reply(internal, internal);
      const err = (await make({ maxAttempts: 2 }).copyObject({ bucket: 'b', key: 'k', sourceBucket: 's', sourceKey: 'k' }).catch((e: unknown) => e)) as StorageError;
      expect(err.attempts).toBe(2);
      expect(err.result).toMatchObject({ status: 200, errorCode: 'InternalError', body: null });
    });

    it('a 2xx without ETag (UploadPartCopy) is a failure', async () => {
      fake.reply(xml(200, '<CopyPartResult></CopyPartResult>'));
      const err = (await make({ maxAttempts: 1 })
        .uploadPartCopy({ bucket: 'b', key: 'k', uploadId: 'U', partNumber: 1, sourceBucket: 's', sourceKey: 'x', range: { start: 0, end: 9 } })
        .catch((e: unknown) => e)) as StorageError;
      expect(err.result).toMatchObject({ status: 200, errorCode: 'InvalidResponse' });
      expect(fake.seen[0]!.headers['x-amz-copy-source-range']).toBe('bytes=0-9');
    });

    it('transport faults (socket destroyed) are retried', async () => {
      fake.reply((_req, _res, socket) => socket.destroy(), ok({ etag: '"after-reset"' }));
      const r = await make().uploadPart({ bucket: 'b', key: 'k', uploadId: 'U', partNumber: 1, body: 'data' });
      expect(r.body!.etag).toBe('"after-reset"');
      expect(events[0]).toMatchObject({ status: 0, willRetry: true });
    });

    it('an unanswered request times out as a retryable no-response failure', async () => {
      fake.reply(() => undefined); // never answers
      const err = (await make({ maxAttempts: 1, timeoutMs: 100 }).headBucket({ bucket: 'b' }).catch((e: unknown) => e)) as StorageError;
      expect(err.result).toMatchObject({ status: 0, errorCode: 'UND_ERR_HEADERS_TIMEOUT' });
      expect(err.permanent).toBe(false);
    });

    it('Complete: after an ambiguous failure, NoSuchUpload plus a matching x-obs-uploadId is a success', async () => {
      fake.reply(
        errorXml(500, 'InternalError'),
        errorXml(404, 'NoSuchUpload'),
        ok({ 'x-obs-uploadid': 'UPL', etag: '"m-2"', 'content-length': '0' }),
      );
      const c = make({ endpoint: `http://obs.localhost:${fake.port}`, signature: 'obs' });
      const r = await c.completeMultipartUpload({ bucket: 'b', key: 'k', uploadId: 'UPL', parts: [{ partNumber: 2, etag: '"b"' }, { partNumber: 1, etag: '"a"' }] });
      expect(r.body).toMatchObject({ bucket: 'b', key: 'k', etag: '"m-2"' });
      expect(fake.seen.map((s) => s.method)).toEqual(['POST', 'POST', 'HEAD']);
      expect(fake.seen[0]!.body.toString()).toBe(
        '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part>' +
          '<Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag></Part></CompleteMultipartUpload>',
      );
    });
  });

  describe('paging', () => {
    it('listAllParts follows NextPartNumberMarker', async () => {
      const page = (parts: number[], truncated: boolean, next: number) =>
        xml(200, `<ListPartsResult><Bucket>b</Bucket><Key>k</Key><UploadId>U</UploadId><IsTruncated>${truncated}</IsTruncated><NextPartNumberMarker>${next}</NextPartNumberMarker>${parts
          .map((n) => `<Part><PartNumber>${n}</PartNumber><ETag>"e${n}"</ETag><Size>${n * 10}</Size><LastModified>t</LastModified></Part>`)
          .join('')}</ListPartsResult>`);
      fake.reply(page([1, 2], true, 2), page([3], false, 3));
      const parts = await make().listAllParts({ bucket: 'b', key: 'k', uploadId: 'U' });
      expect(parts).toEqual([
        { partNumber: 1, etag: '"e1"', size: 10, lastModified: 't' },
        { partNumber: 2, etag: '"e2"', size: 20, lastModified: 't' },
        { partNumber: 3, etag: '"e3"', size: 30, lastModified: 't' },
      ]);
      expect(fake.seen[1]!.query).toContainEqual(['part-number-marker', '2']);
    });
  });

  describe('lifecycle and validation', () => {
    it('an aborted call rejects with OBSQ_ABORTED', async () => {
      fake.reply(() => undefined);
      const ac = new AbortController();
      const p = make().headBucket({ bucket: 'b', signal: ac.signal });
      setImmediate(() => ac.abort());
      await expect(p).rejects.toMatchObject({ code: 'OBSQ_ABORTED' });
    });

    it('close() is idempotent; calls after it reject with OBSQ_CLOSED', async () => {
      const c = make();
      const a = c.close();
      expect(c.close()).toBe(a);
      await a;
      await expect(c.headBucket({ bucket: 'b' })).rejects.toMatchObject({ code: 'OBSQ_CLOSED' });
    });

    it('a throwing onRequest listener is logged, not fatal', async () => {
      fake.reply(ok());
      const warnings: string[] = [];
      const c = make({ onRequest: () => { throw new Error('boom'); }, logger: { warn: (_o, msg) => warnings.push(msg) } });
      await c.headBucket({ bucket: 'b' });
      expect(warnings).toEqual(['storage onRequest listener threw']);
    });

    it.each([
      [{ endpoint: 'ftp://x' }, 'endpoint: must be an http:// or https:// URL'],
      [{ endpoint: 'http://10.0.0.1:9000', signature: 'obs' as const }, "signature: 'obs' needs virtual-hosted addressing"],
      [{ maxAttempts: 0 }, 'maxAttempts: must be a positive integer'],
      [{ timeoutMs: 1.5 }, 'timeoutMs: must be a positive integer'],
      [{ credentials: { accessKeyId: '', secretAccessKey: 'x' } }, 'credentials: must have a non-empty accessKeyId'],
      [{ signature: 'v2' as const, flavour: 'x' as 'obs' }, "flavour: must be 'obs' or 's3'"],
    ])('rejects bad options %j', (opts, message) => {
      expect(() => new ObsClient({ endpoint: 'http://127.0.0.1:1', signature: 'v2', credentials: CREDS, ...opts })).toThrow(message);
    });

    it('rejects bad call input before sending anything', async () => {
      const c = make();
      await expect(async () => c.uploadPart({ bucket: 'b', key: '', uploadId: 'U', partNumber: 0, body: 'x' })).rejects.toThrow(ValidationError);
      await expect(async () => c.completeMultipartUpload({ bucket: 'b', key: 'k', uploadId: 'U', parts: [{ partNumber: 1, etag: 'a' }, { partNumber: 1, etag: 'b' }] })).rejects.toThrow(
        'parts[1].partNumber: must be unique',
      );
      expect(fake.seen).toHaveLength(0);
      expect(new ObsqError('OBSQ_CLOSED', 'x').permanent).toBe(false);
    });
  });
});
