import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/index.js';
import { createRedis, quitRedis, redisOptionsFor, redisReconnectOnError, redisRetryDelayMs } from './createRedis.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A private redis-server on `port`; resolves once it accepts connections. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', () => reject(new Error(`redis-server exited: ${out}`)));
  });
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ service: 'test', version: '0', level: 'debug', destination }), lines };
}

const servers: ChildProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map(stopRedis));
});

describe('redis options per role', () => {
  it('blocks forever for workers, fails fast for producers', () => {
    expect(redisOptionsFor('worker')).toMatchObject({ maxRetriesPerRequest: null, enableOfflineQueue: true, connectionName: 'obsq:worker' });
    expect(redisOptionsFor('producer')).toMatchObject({ maxRetriesPerRequest: 1, enableOfflineQueue: false });
  });

  it('backs off exponentially up to 10 s and reconnects on READONLY/LOADING only', () => {
    expect([1, 2, 3, 7, 8, 50].map(redisRetryDelayMs)).toEqual([100, 200, 400, 6_400, 10_000, 10_000]);
    expect(redisReconnectOnError(new Error("READONLY You can't write against a read only replica."))).toBe(2);
    expect(redisReconnectOnError(new Error('LOADING Redis is loading the dataset in memory'))).toBe(2);
    expect(redisReconnectOnError(new Error('ERR unknown command'))).toBe(false);
  });
});

describe('createRedis against a real redis-server', () => {
  it('connects every role with its name, and quitRedis leaves no client behind', async () => {
    const port = await freePort();
    servers.push(await startRedis(port));
    const { logger } = capture();
    const cfg = { urls: [`redis://127.0.0.1:${port}`], cluster: false };
    const admin = createRedis('worker', cfg, logger);
    await admin.ping();
    const baseline = Number(/connected_clients:(\d+)/.exec(await admin.info('clients'))?.[1]);
    const clients = (['worker', 'producer'] as const).map((role) => createRedis(role, cfg, logger));
    await until(async () => clients.every((c) => c.status === 'ready'), 'clients ready');
    const list = (await admin.call('CLIENT', 'LIST')) as string;
    for (const role of ['worker', 'producer']) expect(list).toContain(`name=obsq:${role}`);
    await Promise.all(clients.map((c) => quitRedis(c)));
    await until(async () => Number(/connected_clients:(\d+)/.exec(await admin.info('clients'))?.[1]) === baseline, 'clients gone');
    await quitRedis(admin);
    expect(admin.status).toBe('end');
  });

  it('producer commands fail fast while Redis is down; worker commands wait and run after it returns; errors are logged', async () => {
    const port = await freePort();
    let server = await startRedis(port);
    servers.push(server);
    const { logger, lines } = capture();
    const cfg = { urls: [`redis://127.0.0.1:${port}`], cluster: false };
    const worker = createRedis('worker', cfg, logger);
    const producer = createRedis('producer', cfg, logger);
    // A producer connection has no offline queue, so it is used only once ready (BullMQ waits for that).
    await until(() => producer.status === 'ready', 'producer ready');
    await Promise.all([worker.ping(), producer.ping()]);

    await stopRedis(server);
    await until(() => worker.status !== 'ready' && producer.status !== 'ready', 'clients to notice');

    const started = Date.now();
    await expect(producer.set('k', 'v')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_000);

    const queued = worker.set('k', 'v');
    await until(() => lines.some((l) => l['msg'] === 'redis connection error' && l['role'] === 'worker'), 'error logged by the listener');

    server = await startRedis(port);
    servers.push(server);
    await expect(queued).resolves.toBe('OK');
    await until(() => producer.status === 'ready', 'producer reconnects');
    await expect(producer.get('k')).resolves.toBe('v');
    await Promise.all([quitRedis(worker), quitRedis(producer)]);
  });

  it('quitRedis falls back to disconnect when Redis is unreachable', async () => {
    const port = await freePort();
    const { logger } = capture();
    const client = createRedis('producer', { urls: [`redis://127.0.0.1:${port}`], cluster: false }, logger);
    await quitRedis(client, 200);
    await until(() => client.status === 'end', 'client ended');
  });
});
