import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
// bench/ is not a workspace package: the services are loaded through their packages' entry points
// (the files their package.json `main` names), not their internals.
import { devstackWorkerEnv, startRedisServer, type LocalRedis } from '../../packages/devstack/src/index.js';
import { Producer } from '../../packages/producer/src/index.js';
import {
  createLogger,
  createRedis,
  quitRedis,
  redisReady,
  type Logger,
  type RedisClient,
} from '../../packages/shared/src/index.js';
import { ObsClient } from '../../packages/storage/src/index.js';
import { buildObsq, DEVSTACK_BIN, OBSQ_LAUNCHER } from '../../scripts/build.js';
import { procCpuSeconds, procMemory, type ProcMemory } from './procStatus.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const PREFIX = 'obsqbench';
const START_TIMEOUT_MS = 60_000;

/** Options of {@link startBenchStack}. */
export interface BenchStackOptions {
  /** Buckets the devstack creates. */
  buckets: string[];
  /** Smallest part the devstack and the producer accept, in bytes. @defaultValue 1 MiB */
  minPartSize?: number;
  /** Extra `node` options of the worker processes (e.g. `--cpu-prof`). @defaultValue [] */
  workerNodeOptions?: string[];
  /** Producer's single-CopyObject threshold, in bytes. @defaultValue 5 GiB */
  copyThreshold?: number;
  /** Also run devstack's SIS stand-in (in the devstack process) and give workers its settings. @defaultValue false */
  sis?: boolean;
}

/** Connection details of the devstack child process (the secret stays in memory, never printed). */
export interface BenchDevstack {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  pid: number;
}

/** Everything the bench needs to run `obsq` commands against this stack (secret included; never print it). */
export type BenchCliEnv = Record<string, string>;

/** One `obsq worker` process. */
export interface BenchWorker {
  pid: number;
  /** Memory right after "worker ready", before it ran a job. */
  atReady: ProcMemory;
  /** Memory now (call before {@link BenchStack.close}: the figures vanish with the process). */
  memory(): Promise<ProcMemory>;
  /** User + system CPU seconds it has used so far. */
  cpuSeconds(): Promise<number>;
}

/**
 * A private stack on loopback: redis-server, the devstack in its own process (so a client measured
 * in this process does not share its event loop with the server), a producer here, and worker
 * processes started on demand. `close()` stops everything, last started first.
 */
export interface BenchStack extends AsyncDisposable {
  redisUrl: string;
  devstack: BenchDevstack;
  /** Temporary directory for source files; the workers' `OBSQ_SOURCE_ROOTS`. Removed by `close()`. */
  dir: string;
  storage: ObsClient;
  producer: Producer;
  /** The producer's Redis connection. */
  redis: RedisClient;
  logger: Logger;
  /** Hash-tagged BullMQ prefix shared by producer and workers. */
  prefix: string;
  /** The `OBSQ_*` variables of the workers: what an `obsq` command needs to reach this stack. */
  env: BenchCliEnv;
  /** Starts `count` worker processes with these extra `OBSQ_*` variables and waits until each is ready. */
  startWorkers(count: number, env?: Record<string, string>): Promise<BenchWorker[]>;
  close(): Promise<void>;
}

const open = new Set<BenchStack>();

/** Closes every stack still open (for a SIGINT during a run). */
export async function closeOpenStacks(): Promise<void> {
  await Promise.allSettled([...open].map((s) => s.close()));
}

/** Kills `child` with `signal` and resolves once it has exited; SIGKILL after `graceMs`. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  timer.unref();
  await exited;
  clearTimeout(timer);
}

/** Resolves with the child's first stdout line; rejects if it exits or stays silent too long. */
function firstLine(child: ChildProcess, what: string, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => fail(new Error(`${what} printed nothing within ${START_TIMEOUT_MS} ms: ${stderr()}`)), START_TIMEOUT_MS);
    const onExit = (code: number | null) => fail(new Error(`${what} exited (${code}) before it was ready: ${stderr()}`));
    const fail = (err: Error) => {
      clearTimeout(timer);
      lines.close();
      child.off('exit', onExit);
      reject(err);
    };
    lines.once('line', (line) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      lines.close();
      resolve(line);
    });
    child.once('exit', onExit);
  });
}

/** The SIS stand-in's connection details, as the devstack's ready line gives them. */
interface BenchSis {
  endpoint: string;
  region: string;
  projectId: string;
  ak: string;
  sk: string;
}

async function startDevstackProcess(dir: string, opts: Required<Pick<BenchStackOptions, 'buckets' | 'minPartSize' | 'sis'>>) {
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', DEVSTACK_BIN, '--obs-port', '0', '--data', join(dir, 'devstack'),
      '--buckets', opts.buckets.join(','), '--min-part-size', String(opts.minPartSize), '--log-level', 'warn',
      // Object storage only unless asked: the SIS stand-in adds its speech engines to the server process.
      ...(opts.sis ? [] : ['--no-sis'])],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8192)));
  try {
    const ready = JSON.parse(await firstLine(child, 'devstack', () => err)) as { obs: Omit<BenchDevstack, 'pid'>; sis?: BenchSis };
    // Keep draining stdout so the child never blocks on a full pipe.
    child.stdout!.resume();
    return { child, info: { ...ready.obs, pid: child.pid! }, sis: ready.sis };
  } catch (e) {
    await stopChild(child, 'SIGKILL');
    throw e;
  }
}

/**
 * Starts redis-server, the devstack process, and a producer; workers come with `startWorkers`.
 * The devstack and the workers run the compiled build (packages/cli/dist), rebuilt first, as in
 * production.
 */
export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  await buildObsq();
  const minPartSize = options.minPartSize ?? 1024 * 1024;
  const logger = createLogger({ service: 'obsq-bench', version: '0', level: 'warn', destination: 2 });
  const dir = await mkdtemp(join(tmpdir(), 'obsq-bench-'));
  // LIFO release: each step undoes one start step, later ones first.
  const releasers: Array<() => Promise<void>> = [() => rm(dir, { recursive: true, force: true })];
  const children: ChildProcess[] = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      open.delete(stack);
      const errors: unknown[] = [];
      for (const release of releasers.reverse()) {
        try {
          await release();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length > 0) throw new AggregateError(errors, 'bench stack close failed');
    })());
  // Filled in below; `close` only reads it after start has assigned it.
  let stack!: BenchStack;
  try {
    const redis: LocalRedis = await startRedisServer();
    releasers.push(() => redis.stop());
    const ds = await startDevstackProcess(dir, { buckets: options.buckets, minPartSize, sis: options.sis ?? false });
    releasers.push(() => stopChild(ds.child));
    const redisClient = createRedis('producer', { urls: [redis.url], cluster: false }, logger);
    releasers.push(() => quitRedis(redisClient));
    await redisReady(redisClient);
    const storage = new ObsClient({
      endpoint: ds.info.endpoint,
      region: ds.info.region,
      signature: 'v4',
      pathStyle: true,
      credentials: { accessKeyId: ds.info.accessKeyId, secretAccessKey: ds.info.secretAccessKey },
    });
    releasers.push(() => storage.close());
    const prefix = `{${PREFIX}}`;
    const producer = new Producer({ redis: redisClient, prefix, storage, minPartSize, copyThreshold: options.copyThreshold, logger });
    releasers.push(() => producer.close());

    const baseEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...devstackWorkerEnv({ obs: ds.info, ...(ds.sis ? { sis: ds.sis } : {}), redisUrls: [redis.url], sourceRoots: dir, minPartSize }),
      OBSQ_PREFIX: PREFIX,
      ...(options.copyThreshold === undefined ? {} : { OBSQ_COPY_THRESHOLD: String(options.copyThreshold) }),
      OBSQ_SHUTDOWN_TIMEOUT_MS: '5000',
      // `info` because readiness is the "worker ready" line; per-job lines are few at these sizes.
      OBSQ_LOG_LEVEL: 'info',
    };
    releasers.push(async () => {
      await Promise.all(children.map((c) => stopChild(c)));
    });

    const startWorker = async (env: Record<string, string>): Promise<BenchWorker> => {
      const child = spawn(process.execPath, [...(options.workerNodeOptions ?? []), OBSQ_LAUNCHER, 'worker'], {
        cwd: REPO,
        env: { ...baseEnv, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let tail = '';
      const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-16_384));
      child.stderr!.on('data', keep);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`worker not ready within ${START_TIMEOUT_MS} ms: ${tail}`)), START_TIMEOUT_MS);
        const onExit = (code: number | null) => done(new Error(`worker exited (${code}) at start: ${tail}`));
        const onData = (d: Buffer) => {
          keep(d);
          if (tail.includes('"worker ready"')) done();
        };
        const done = (err?: Error) => {
          clearTimeout(timer);
          child.off('exit', onExit);
          child.stdout!.off('data', onData);
          // Keep draining: a worker logging synchronously into a full pipe would stall.
          child.stdout!.on('data', keep);
          if (err) reject(err);
          else resolve();
        };
        child.stdout!.on('data', onData);
        child.once('exit', onExit);
      });
      const pid = child.pid!;
      return { pid, atReady: await procMemory(pid), memory: () => procMemory(pid), cpuSeconds: () => procCpuSeconds(pid) };
    };

    stack = {
      redisUrl: redis.url,
      devstack: ds.info,
      dir,
      storage,
      producer,
      redis: redisClient,
      logger,
      prefix,
      env: Object.fromEntries(Object.entries(baseEnv).filter(([k]) => k.startsWith('OBSQ_'))),
      // Sequential: two starts at once only slow each other down on a 2-core machine.
      async startWorkers(count, env = {}) {
        const started: BenchWorker[] = [];
        for (let i = 0; i < count; i++) started.push(await startWorker(env));
        return started;
      },
      close,
      [Symbol.asyncDispose]: close,
    };
    open.add(stack);
    return stack;
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
