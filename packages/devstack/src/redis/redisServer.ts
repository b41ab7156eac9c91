import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * A private redis-server on a free loopback port, for tests and the demo: they never touch a server
 * they did not start.
 */
export interface LocalRedis extends AsyncDisposable {
  url: string;
  port: number;
  /** Number of clients connected right now (to prove nothing leaked). */
  connectedClients(): Promise<number>;
  stop(): Promise<void>;
}

/** Asks the kernel for a free loopback TCP port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Extra `redis-server` arguments, e.g. `['--cluster-enabled', 'yes']`. */
  args?: readonly string[];
}

/** Starts `redis-server` (noeviction, no persistence) and waits until it answers PING. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<LocalRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'obsq-redis-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
        '--maxmemory-policy', 'noeviction', ...(options.args ?? [])],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    const ready = await new Promise<boolean>((resolve) => {
      const onData = () => {
        if (output.includes('Ready to accept connections')) resolve(true);
      };
      child.stdout?.on('data', onData);
      child.once('exit', () => resolve(false));
      child.once('error', (err) => {
        output += String(err);
        resolve(false);
      });
    });
    if (!ready) {
      if (attempt < 3) continue; // port taken between probe and bind
      throw new Error(`redis-server did not start (is the Debian package redis-server installed?): ${output}`);
    }
    const url = `redis://127.0.0.1:${port}`;
    let stopped: Promise<void> | undefined;
    const stop = () =>
      (stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }).then(() => rm(dir, { recursive: true, force: true })));
    return {
      url,
      port,
      async connectedClients() {
        const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
        await probe.connect();
        try {
          const info = await probe.info('clients');
          const m = /connected_clients:(\d+)/.exec(info);
          return Number(m?.[1] ?? 0) - 1; // minus the probe itself
        } finally {
          probe.disconnect();
        }
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }
}

/** A local Redis Cluster of `masters` nodes (no replicas), all slots assigned. */
export interface LocalRedisCluster extends AsyncDisposable {
  /** One `redis://127.0.0.1:PORT` URL per node (the seed list for a cluster client). */
  urls: string[];
  nodes: LocalRedis[];
  stop(): Promise<void>;
}

/**
 * Starts a Redis Cluster on loopback: `masters` cluster-enabled redis-servers joined with
 * `redis-cli --cluster create`, resolved once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster({ masters = 3 }: { masters?: number } = {}): Promise<LocalRedisCluster> {
  const nodes: LocalRedis[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(await startRedisServer({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`, '--cluster-node-timeout', '5000'] }));
    }
    const hosts = nodes.map((n) => `127.0.0.1:${n.port}`);
    await new Promise<void>((resolve, reject) => {
      const cli = spawn('redis-cli', ['--cluster', 'create', ...hosts, '--cluster-replicas', '0', '--cluster-yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      cli.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      cli.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      cli.once('error', reject);
      cli.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create failed: ${out}`))));
    });
    for (const node of nodes) {
      const probe = new Redis(node.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await probe.connect();
      try {
        for (let i = 0; ; i++) {
          const info = (await probe.call('CLUSTER', 'INFO')) as string;
          if (info.includes('cluster_state:ok')) break;
          if (i > 200) throw new Error(`cluster did not converge: ${info}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        probe.disconnect();
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { urls: nodes.map((n) => n.url), nodes, stop, [Symbol.asyncDispose]: stop };
}
