import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sourceUrlIssues } from '../validation/index.js';
import { UrlClient } from './urlClient.js';
import { credentialParams, defaultUrlPolicy, urlAddressRefusal, urlPolicyFrom } from './urlPolicy.js';

const policy = (allow?: string, deny?: string, timeoutMs?: number) => {
  const { policy: p, issues } = urlPolicyFrom({ allow, deny, timeoutMs });
  expect(issues).toEqual([]);
  return p;
};

describe('URL policy decisions', () => {
  it.each([
    ['127.0.0.1', /loopback/],
    ['::1', /loopback/],
    ['::ffff:127.0.0.1', /loopback/],
    ['169.254.169.254', /link-local.*metadata/],
    ['fe80::1', /link-local/],
    ['fd00:ec2::254', /unique local/],
    ['100.100.100.200', /shared/],
    ['10.1.2.3', /private/],
    ['172.16.0.1', /private/],
    ['192.168.1.1', /private/],
    ['0.0.0.0', /unspecified/],
    ['224.0.0.1', /multicast/],
  ])('refuses %s by default (%s)', (address, label) => {
    expect(urlAddressRefusal(defaultUrlPolicy(), 'h.example', address)).toMatch(label);
    expect(urlAddressRefusal(defaultUrlPolicy(), 'h.example', address)).toMatch(/OBSQ_URL_ALLOW as an address or CIDR/);
  });

  it('allows public addresses by default, and only listed hosts once OBSQ_URL_ALLOW is set', () => {
    expect(urlAddressRefusal(defaultUrlPolicy(), 'example.com', '93.184.215.14')).toBeUndefined();
    const p = policy('*.example.com, data.test, 203.0.113.0/24');
    expect(urlAddressRefusal(p, 'a.example.com', '93.184.215.14')).toBeUndefined();
    expect(urlAddressRefusal(p, 'example.com', '93.184.215.14')).toMatch(/not listed in OBSQ_URL_ALLOW/);
    expect(urlAddressRefusal(p, 'DATA.test.', '93.184.215.14')).toBeUndefined();
    expect(urlAddressRefusal(p, 'other.org', '203.0.113.9')).toBeUndefined();
    expect(urlAddressRefusal(policy('*'), 'any.org', '93.184.215.14')).toBeUndefined();
  });

  it('a host name entry never opens a private address: DNS under an allowed name could point anywhere', () => {
    expect(urlAddressRefusal(policy('*.example.com'), 'evil.example.com', '169.254.169.254')).toMatch(/link-local/);
    expect(urlAddressRefusal(policy('127.0.0.0/8,::1'), 'localhost', '127.0.0.1')).toBeUndefined();
    expect(urlAddressRefusal(policy('127.0.0.0/8'), 'localhost', '::1')).toMatch(/loopback/);
  });

  it('OBSQ_URL_DENY wins over OBSQ_URL_ALLOW; metadata names are refused by name', () => {
    const p = policy('127.0.0.0/8,*', 'bad.example.com,127.0.0.2,198.51.100.0/24');
    expect(urlAddressRefusal(p, 'bad.example.com', '93.184.215.14')).toMatch(/OBSQ_URL_DENY/);
    expect(urlAddressRefusal(p, 'x', '127.0.0.2')).toMatch(/OBSQ_URL_DENY/);
    expect(urlAddressRefusal(p, 'x', '127.0.0.3')).toBeUndefined();
    expect(urlAddressRefusal(p, 'x', '198.51.100.7')).toMatch(/OBSQ_URL_DENY/);
    expect(urlAddressRefusal(p, 'metadata.google.internal', '93.184.215.14')).toMatch(/metadata service/);
  });

  it('bad entries name the variable and the entry', () => {
    const { issues } = urlPolicyFrom({ allow: 'ok.com, http://x, 10.0.0.0/40', deny: 'a b*c' });
    expect(issues.map((i) => `${i.field}: ${i.rule}`)).toEqual([
      'OBSQ_URL_ALLOW: entry "http://x" is not a host name, *.wildcard, *, IP address or CIDR',
      'OBSQ_URL_ALLOW: entry "10.0.0.0/40" has a prefix longer than 32',
      'OBSQ_URL_DENY: entry "b*c" is not a host name, *.wildcard, *, IP address or CIDR',
    ]);
  });

  it.each([
    ['https://h.example/f?X-Goog-Signature=abc', 'X-Goog-Signature'],
    ['https://h.example/f?X-Goog-Credential=abc', 'X-Goog-Credential'],
    ['https://h.example/f?sv=1&sig=abc', 'sig'],
    ['https://h.example/f?api_key=abc', 'api_key'],
    ['https://h.example/f?AccessKeyId=a&Signature=b', 'AccessKeyId'],
    ['https://h.example/f?x-obs-security-token=t', 'x-obs-security-token'],
    ['https://h.example/f?TOKEN=t', 'TOKEN'],
  ])('a credential-looking query parameter is refused with the reason: %s', (url, param) => {
    expect(credentialParams(new URL(url))).toContain(param);
    const [issue] = sourceUrlIssues(url, 'source.url');
    expect(issue!.rule).toContain(`"${param}"`);
    expect(issue!.rule).toMatch(/like (a credential|credentials), and job payloads are stored in Redis in clear text/);
  });

  it('ordinary query parameters pass', () => {
    expect(credentialParams(new URL('https://h.example/f?page=2&format=wav&v=3'))).toEqual([]);
  });
});

describe('UrlClient', () => {
  const servers: Server[] = [];
  const clients: UrlClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  const client = (allow?: string, timeoutMs?: number) => {
    const c = new UrlClient(policy(allow, undefined, timeoutMs));
    clients.push(c);
    return c;
  };
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected a rejection');
      },
      (e: unknown) => e as { code?: string; message: string; permanent?: boolean },
    );

  it('refuses loopback by address and by name (checked inside the connect) unless listed', async () => {
    let hits = 0;
    const host = await serve((_req, res) => {
      hits++;
      res.end('ok');
    });
    const port = host.split(':')[1];
    const byAddress = await failure(client().request(`http://${host}/f`, { field: 'source.url' }));
    expect(byAddress).toMatchObject({ code: 'OBSQ_URL_FORBIDDEN', permanent: true });
    expect(byAddress.message).toMatch(/^source\.url: address 127\.0\.0\.1 of 127\.0\.0\.1 is loopback/);
    const byName = await failure(client().request(`http://localhost:${port}/f`));
    expect(byName.code).toBe('OBSQ_URL_FORBIDDEN');
    expect(byName.message).toMatch(/of localhost is loopback/);
    expect(hits).toBe(0);
    const res = await client('127.0.0.0/8,::1').request(`http://localhost:${port}/f`);
    expect(await res.body.text()).toBe('ok');
  });

  it('follows up to 5 redirects, each checked; a 6th, a non-http target or a metadata address is refused', async () => {
    const host = await serve((req, res) => {
      const n = Number(/^\/r(\d+)$/.exec(req.url ?? '')?.[1] ?? -1);
      if (n > 0) res.writeHead(302, { location: `/r${n - 1}` }).end();
      else if (req.url === '/ftp') res.writeHead(301, { location: 'ftp://127.0.0.1/x' }).end();
      else if (req.url === '/meta') res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      else res.end('landed');
    });
    const c = client('127.0.0.0/8');
    const five = await c.request(`http://${host}/r5`);
    expect(await five.body.text()).toBe('landed');
    expect(five.url).toBe(`http://${host}/r0`);
    expect((await failure(c.request(`http://${host}/r6`))).message).toMatch(/more than 5 redirects/);
    expect((await failure(c.request(`http://${host}/ftp`))).message).toMatch(/must use http or https \(got ftp\)/);
    const meta = await failure(c.request(`http://${host}/meta`));
    expect(meta.code).toBe('OBSQ_URL_FORBIDDEN');
    expect(meta.message).toMatch(/169\.254\.169\.254.*link-local/);
  });

  it('a server that never answers fails with OBSQ_TIMEOUT after OBSQ_URL_TIMEOUT_MS', async () => {
    const host = await serve(() => undefined);
    const t0 = performance.now();
    const err = await failure(client('127.0.0.0/8', 300).request(`http://${host}/slow`, { field: 'source.url' }));
    expect(err.code).toBe('OBSQ_TIMEOUT');
    expect(err.message).toMatch(/sent no response headers within 300 ms \(OBSQ_URL_TIMEOUT_MS\)/);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('refuses credentials in the URL before connecting', async () => {
    const err = await failure(client('*').request('https://user:pw@example.com/f'));
    expect(err.code).toBe('OBSQ_URL_FORBIDDEN');
    expect((await failure(client('*').request('https://example.com/f?X-Goog-Signature=1'))).message).toMatch(/looks like a credential/);
  });
});
