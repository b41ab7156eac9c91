import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createWorkerMetrics, Registry, startMetricsServer, type MetricsServer, type Readiness } from '@obsq/worker';
import { waitFor } from './helpers/waitFor.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request; without `agent` it uses its own connection (no keep-alive socket outlives it). */
function get(
  url: string,
  { agent, method = 'GET', sockets }: { agent?: Agent; method?: string; sockets?: Set<Socket> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('socket', (socket) => sockets?.add(socket));
    req.on('error', reject);
    req.end();
  });
}

function tcpResources(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap').length;
}

const logLines: { level: string; obj: unknown; msg: unknown }[] = [];
const logger = {
  info: (obj: unknown, msg?: unknown) => void logLines.push({ level: 'info', obj, msg }),
  warn: (obj: unknown, msg?: unknown) => void logLines.push({ level: 'warn', obj, msg }),
  error: (obj: unknown, msg?: unknown) => void logLines.push({ level: 'error', obj, msg }),
};

const servers: MetricsServer[] = [];
const agents: Agent[] = [];

async function start(ready: () => Promise<Readiness> = async () => ({ ok: true }), readyTimeoutMs?: number) {
  const register = new Registry();
  createWorkerMetrics({ register, workerId: 'w-http', collectDefault: false });
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0, register, ready, logger, readyTimeoutMs });
  servers.push(server);
  return { server, register };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const a of agents.splice(0)) a.destroy();
  logLines.length = 0;
  // This file opens no other TCP handle: every listener and connection must be gone (handles are
  // released a loop turn after close, hence waitFor).
  await waitFor(() => tcpResources() === 0, { what: 'no TCP handle left open', timeoutMs: 5000 });
});

describe('startMetricsServer', () => {
  it('binds port 0 to a real port, logs it, and serves /metrics in the registry content type', async () => {
    const { server, register } = await start();
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(logLines.some((l) => l.msg === 'metrics server listening' && (l.obj as { port: number }).port === server.port)).toBe(true);
    const r = await get(`${server.url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe(register.contentType);
    expect(r.body).toMatch(/^obsq_worker_info\{version="[^"]+",worker_id="w-http"\} 1$/m);
    expect(r.body).toContain('# TYPE obsq_job_duration_seconds histogram');
  });

  it('answers /healthz 200 whatever readiness says', async () => {
    const { server } = await start(async () => ({ ok: false, reason: 'draining' }));
    const r = await get(`${server.url}/healthz`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ status: 'ok' });
  });

  it('answers /readyz 200 when ready, 503 with the reason when not', async () => {
    let state: Readiness = { ok: true };
    const { server } = await start(async () => state);
    expect((await get(`${server.url}/readyz`)).status).toBe(200);
    state = { ok: false, reason: 'draining' };
    const r = await get(`${server.url}/readyz`);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toEqual({ status: 'not ready', reason: 'draining' });
    state = { ok: true };
    expect((await get(`${server.url}/readyz`)).status).toBe(200);
  });

  it('answers /readyz 503 when the check throws or hangs past readyTimeoutMs', async () => {
    const { server: throwing } = await start(() => Promise.reject(new Error('redis unreachable')));
    const r1 = await get(`${throwing.url}/readyz`);
    expect(r1.status).toBe(503);
    expect(JSON.parse(r1.body).reason).toBe('redis unreachable');
    expect(logLines.some((l) => l.level === 'warn')).toBe(true);

    const { server: hanging } = await start(() => new Promise<Readiness>(() => {}), 50);
    const r2 = await get(`${hanging.url}/readyz`);
    expect(r2.status).toBe(503);
    expect(JSON.parse(r2.body).reason).toMatch(/timed out after 50 ms/);
  });

  it('answers 404 for other paths, 405 for other methods, and HEAD without a body', async () => {
    const { server } = await start();
    expect((await get(`${server.url}/nope`)).status).toBe(404);
    const post = await get(`${server.url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const head = await get(`${server.url}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await get(`${server.url}/metrics?x=1`)).status).toBe(200);
  });

  it('rejects a bad port, and a port already in use', async () => {
    const register = new Registry();
    const ready = async () => ({ ok: true });
    await expect(startMetricsServer({ port: -1, register, ready, logger })).rejects.toThrow(/port/);
    const { server } = await start();
    await expect(startMetricsServer({ host: '127.0.0.1', port: server.port, register, ready, logger })).rejects.toThrow(/EADDRINUSE/);
  });

  it('close() is idempotent, ends keep-alive and in-flight connections and leaves no socket open', async () => {
    const baseline = tcpResources(); // 0: afterEach proved the previous test left nothing
    let readyCalled = false;
    const { server } = await start(() => {
      readyCalled = true;
      return new Promise<Readiness>(() => {}); // a request that never finishes by itself
    }, 60_000);
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    agents.push(agent);
    const sockets = new Set<Socket>();
    await Promise.all([get(`${server.url}/metrics`, { agent, sockets }), get(`${server.url}/healthz`, { agent, sockets })]);
    // Two idle keep-alive connections the client never closes, plus the listener.
    expect(sockets.size).toBe(2);
    expect(Object.values(agent.freeSockets).flat().length).toBe(2);
    expect(tcpResources()).toBeGreaterThan(baseline);

    const inflight = get(`${server.url}/readyz`, { sockets });
    await waitFor(() => readyCalled, { what: 'the /readyz request to be in flight' });

    const first = server.close();
    const second = server.close();
    expect(second).toBe(first);
    await first; // resolves although the client kept its connections open
    await server.close();
    expect(logLines.some((l) => l.msg === 'metrics server closed')).toBe(true);

    await expect(inflight).rejects.toThrow(/socket hang up|ECONNRESET/);
    await waitFor(() => [...sockets].every((s) => s.destroyed), { what: 'client keep-alive sockets closed by the server' });
    await waitFor(() => tcpResources() === baseline, { what: 'TCP handles back to baseline' });
    await expect(get(`${server.url}/healthz`)).rejects.toThrow(/ECONNREFUSED/);
  });
});
