import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { freePort } from '../packages/devstack/src/redis/redisServer.js';
import { bullmq } from './lib/testDeps.js';

const { Queue } = bullmq;
// ioredis from the test workspace package, like the benchmarks' other third-party libraries.
const { Redis } = createRequire(new URL('../test/package.json', import.meta.url))('ioredis') as typeof import('../test/node_modules/ioredis/built/index.js');

/*
 * How many acknowledged enqueues each Redis `appendfsync` setting loses when redis-server is killed
 * with SIGKILL in the middle of a stream of `Queue.add` calls (docs/reliability.md). A process kill
 * keeps what reached the kernel; losing the machine (power, kernel panic) is not reproducible here,
 * and its bounds are Redis' own (see the doc).
 *
 *   node --import tsx bench/appendfsyncLoss.ts [rounds]
 */

const MODES = ['always', 'everysec', 'no'] as const;

async function startRedis(dir: string, port: number, mode: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', mode, '--dir', dir, '--maxmemory-policy', 'noeviction'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', () => reject(new Error(`redis-server exited: ${out}`)));
  });
  child.removeAllListeners('exit');
  return child;
}

async function round(mode: string): Promise<{ acked: number; lost: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'obsq-aof-'));
  const port = await freePort();
  try {
    const redis = await startRedis(dir, port, mode);
    const conn = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null });
    conn.on('error', () => undefined);
    const queue = new Queue('loss', { connection: conn });
    queue.on('error', () => undefined);
    const acked: string[] = [];
    let n = 0;
    let killed = false;
    const deadline = Date.now() + 1500;
    const killer = setTimeout(() => {
      killed = true;
      redis.kill('SIGKILL');
    }, 1000);
    // 16 producers adding as fast as they can until the server is gone.
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (Date.now() < deadline) {
          const id = `j${n++}`;
          try {
            await queue.add('x', { i: id }, { jobId: id });
            acked.push(id);
          } catch {
            if (killed) return;
          }
        }
      }),
    );
    clearTimeout(killer);
    await new Promise((r) => (redis.exitCode !== null || redis.signalCode !== null ? r(null) : redis.once('exit', r)));
    await queue.close().catch(() => undefined);
    conn.disconnect();
    const again = await startRedis(dir, port, mode);
    const check = new Redis({ port, host: '127.0.0.1' });
    let lost = 0;
    for (let i = 0; i < acked.length; i += 500) {
      const batch = acked.slice(i, i + 500);
      const exists = await Promise.all(batch.map((id) => check.exists(`bull:loss:${id}`)));
      lost += exists.filter((e) => e === 0).length;
    }
    await check.quit();
    again.kill('SIGTERM');
    await new Promise((r) => again.once('exit', r));
    return { acked: acked.length, lost };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const rounds = Number(process.argv[2] ?? 3);
for (const mode of MODES) {
  const results = [];
  for (let r = 0; r < rounds; r++) results.push(await round(mode));
  const acked = results.reduce((a, b) => a + b.acked, 0);
  const lost = results.reduce((a, b) => a + b.lost, 0);
  process.stdout.write(`appendfsync ${mode.padEnd(8)} rounds ${rounds}: ${acked} enqueues acknowledged before SIGKILL, ${lost} missing after restart\n`);
}
