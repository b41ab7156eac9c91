import type { LookupFunction } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevstack, type Devstack } from '@obsq/devstack';
import { ObsClient } from '@obsq/storage';
import { runObsq, type ObsqRun } from './helpers/cli.js';
import { waitFor } from './helpers/waitFor.js';

// `obsq presign` in each signature mode, checked by using the URLs against the devstack, which
// verifies OBS, V2 and V4 query signatures and their expiry.

let ds: Devstack;
let storage: ObsClient;

// OBS signing needs virtual-hosted URLs (`presign.obs.localhost`): resolve every name to loopback.
const loopback: LookupFunction = (_host, opts, cb) => {
  if (opts.all) (cb as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
};
const agent = new Agent({ connect: { lookup: loopback }, keepAliveTimeout: 10 });
/** fetch through the loopback-only agent (a URL's user must send no Content-Type unless it was signed). */
const fetchUrl = (url: string, init: { method?: string; body?: Buffer; headers?: Record<string, string> } = {}) =>
  undiciFetch(url, { ...init, dispatcher: agent });

function env(signature: string): Record<string, string> {
  // OBS signing is virtual-hosted only; V2 and V4 are tested path-style.
  const virtual = signature === 'obs';
  return {
    // presign never connects to Redis; the variable is part of the producer configuration.
    OBSQ_REDIS_URL: 'redis://127.0.0.1:1',
    OBSQ_OBS_ENDPOINT: virtual ? ds.obs.virtualHostedEndpoint : ds.obs.endpoint,
    OBSQ_OBS_REGION: ds.obs.region,
    OBSQ_OBS_SIGNATURE: signature,
    OBSQ_OBS_PATH_STYLE: virtual ? 'false' : 'true',
    OBSQ_OBS_ACCESS_KEY_ID: ds.obs.accessKeyId,
    OBSQ_OBS_SECRET_ACCESS_KEY: ds.obs.secretAccessKey,
  };
}

async function presign(signature: string, args: string[]): Promise<string> {
  const run = await runObsq(['presign', ...args], env(signature));
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const url = run.stdout.trim();
  expect(url).toMatch(signature === 'obs' ? /^http:\/\/presign\.obs\.localhost:\d+\// : /^http:\/\/127\.0\.0\.1:\d+\/presign\//);
  // The secret never appears in a URL (only a signature derived from it).
  expect(url).not.toContain(ds.obs.secretAccessKey);
  return url;
}

beforeAll(async () => {
  ds = await startDevstack({ buckets: ['presign'] });
  storage = new ObsClient({
    endpoint: ds.obs.endpoint,
    region: ds.obs.region,
    signature: 'v4',
    pathStyle: true,
    credentials: { accessKeyId: ds.obs.accessKeyId, secretAccessKey: ds.obs.secretAccessKey },
  });
  await storage.putObject({ bucket: 'presign', key: 'doc one.txt', body: Buffer.from('hello from obsq') });
});

afterAll(async () => {
  await agent.close();
  await storage?.close();
  await ds?.close();
});

describe.each(['obs', 'v2', 'v4'])('obsq presign with %s signing', (signature) => {
  it('signs GET, PUT and HEAD URLs the server accepts', async () => {
    const marker = signature === 'v4' ? 'X-Amz-Signature=' : 'Signature=';
    const get = await presign(signature, ['obs://presign/doc one.txt']);
    expect(get).toContain(marker);
    const got = await fetchUrl(get);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('hello from obsq');

    const key = `uploaded-${signature}.txt`;
    const put = await presign(signature, [`obs://presign/${key}`, '--method', 'PUT', '--expires', '10m']);
    expect((await fetchUrl(put, { method: 'PUT', body: Buffer.from(`put through a ${signature} URL`) })).status).toBe(200);
    const back = await fetchUrl(await presign(signature, [`obs://presign/${key}`, '--method', 'get']));
    expect(await back.text()).toBe(`put through a ${signature} URL`);

    const head = await fetchUrl(await presign(signature, [`obs://presign/${key}`, '--method', 'HEAD']), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(`put through a ${signature} URL`.length));

    // A URL signed for GET does not allow a PUT.
    expect((await fetchUrl(get, { method: 'PUT', body: Buffer.from('x') })).status).toBe(403);

    // A signed Content-Type must be sent as signed.
    const typed = await presign(signature, [`obs://presign/typed-${signature}.json`, '--method', 'PUT', '--content-type', 'application/json']);
    expect((await fetchUrl(typed, { method: 'PUT', body: Buffer.from('{}'), headers: { 'content-type': 'application/json' } })).status).toBe(200);
    if (signature !== 'v4') expect((await fetchUrl(typed, { method: 'PUT', body: Buffer.from('{}'), headers: { 'content-type': 'text/plain' } })).status).toBe(403);
  });

  it('refuses the URL once it expired', async () => {
    const run = await runObsq(['presign', 'obs://presign/doc one.txt', '--expires', '1s', '--json'], env(signature));
    const out = JSON.parse(run.stdout) as { url: string; method: string; expiresAt: string; headers: Record<string, string> };
    expect(out).toMatchObject({ method: 'GET', headers: { host: expect.stringMatching(/^(127\.0\.0\.1|presign\.obs\.localhost):\d+$/) as unknown as string } });
    const refused = await waitFor(
      async () => {
        const res = await fetchUrl(out.url);
        const text = await res.text();
        return res.status === 403 ? text : undefined;
      },
      { what: 'the presigned URL to expire', timeoutMs: 15_000, intervalMs: 250 },
    );
    expect(refused).toMatch(/<Code>AccessDenied<\/Code>[\s\S]*expired/);
  });
});

describe('obsq presign command line', () => {
  it('names the problem in one line and exits 2', async () => {
    const cases: Array<[string[], RegExp, string]> = [
      [['obs://presign/a', '--method', 'POST'], /--method must be GET, PUT or HEAD \(got "POST"\)/, 'v4'],
      [['obs://presign/a', '--expires', '8d'], /--expires must be at most 7d with V4 signing/, 'v4'],
      [['obs://presign/a', '--expires', '10'], /--expires: must be a duration with a unit/, 'obs'],
      [['obs://presign/'], /object: must name an object key after the bucket/, 'obs'],
      [[], /presign takes one obs:\/\/bucket\/key/, 'obs'],
    ];
    for (const [args, message, signature] of cases) {
      const run: ObsqRun = await runObsq(['presign', ...args], env(signature));
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(message);
    }
    // OBS and V2 URLs may live longer than a week.
    expect((await runObsq(['presign', 'obs://presign/a', '--expires', '30d'], env('v2'))).code).toBe(0);
  });
});
