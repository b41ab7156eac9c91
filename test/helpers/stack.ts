import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { devstackWorkerEnv, startDevstack, startRedisCluster, startRedisServer, type Devstack, type DevstackSisOptions, type FaultSpec, type LocalRedis } from '@obsq/devstack';
import { Producer } from '@obsq/producer';
import { createRedis, durationEnv, quitRedis, redisReady, SCHEDULE_MIN_INTERVAL_MS_DEFAULT, urlPolicyFrom, type RedisClient } from '@obsq/shared';
import { ObsClient } from '@obsq/storage';
import { OBSQ_CLI } from './cli.js';
import { waitFor } from './waitFor.js';

const REPO = resolve(import.meta.dirname, '../..');

/** A worker running as its own process (the compiled `obsq worker`), as in production. */
export interface WorkerProcess {
  child: ChildProcess;
  /** Everything it logged so far. */
  output(): string;
  /** Resolves with the exit code (or signal name) once it exits. */
  exited: Promise<number | string>;
  /** Base URL of its metrics/health server (`/metrics`, `/healthz`, `/readyz`). */
  metricsUrl: string;
}

/** Redis + devstack + producer + worker processes, all on loopback, all torn down by `close()`. */
export interface Stack extends AsyncDisposable {
  redis: LocalRedis;
  devstack: Devstack;
  /** Root of file sources (OBSQ_SOURCE_ROOTS of the workers). */
  dir: string;
  storage: ObsClient;
  producer: Producer;
  producerRedis: RedisClient;
  env: Record<string, string>;
  workers: WorkerProcess[];
  startWorker(extraEnv?: Record<string, string>): Promise<WorkerProcess>;
  close(): Promise<void>;
}

/** Options of {@link startStack}. */
export interface StackOptions {
  /** Run Redis as a 3-node Redis Cluster instead of one server. @defaultValue false */
  redisCluster?: boolean;
  workers?: number;
  minPartSize?: number;
  faults?: FaultSpec[];
  buckets?: string[];
  env?: Record<string, string>;
  /** Producer's single-CopyObject threshold in bytes. @defaultValue 5 GiB */
  copyThreshold?: number;
  /**
   * Start devstack's SIS server too and give the workers its OBSQ_SIS_* settings, streaming
   * unpaced (`OBSQ_SIS_PACE=0`). Off by default: it keeps a warm PocketSphinx per stack.
   * @defaultValue false
   */
  sis?: boolean | DevstackSisOptions;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'obsq-stack-'));
  const cluster = opts.redisCluster ? await startRedisCluster() : undefined;
  const redis = cluster ? cluster.nodes[0]! : await startRedisServer();
  const redisUrls = cluster ? cluster.urls : [redis.url];
  const devstack = await startDevstack({
    buckets: opts.buckets ?? ['ingest'],
    minPartSize: opts.minPartSize ?? 1024 * 1024,
    faults: opts.faults,
    // A worker or client that stops sending Content-MD5 fails here, not silently in production.
    requireContentMd5: true,
    seed: 42,
    sis: opts.sis ? (opts.sis === true ? {} : opts.sis) : false,
  });
  const env: Record<string, string> = {
    ...devstackWorkerEnv({
      obs: devstack.obs,
      sis: devstack.sis,
      redisUrls,
      redisCluster: !!cluster,
      sourceRoots: dir,
      minPartSize: opts.minPartSize ?? 1024 * 1024,
    }),
    OBSQ_PREFIX: `t${Date.now().toString(36)}`,
    OBSQ_LOCK_DURATION_MS: '4000',
    OBSQ_STALLED_INTERVAL_MS: '2000',
    OBSQ_SHUTDOWN_TIMEOUT_MS: '10000',
    OBSQ_LOG_LEVEL: 'info',
    ...opts.env,
  };
  const logger = pino({ level: 'silent' });
  const prefix = `{${env.OBSQ_PREFIX}}`;
  const producerRedis = createRedis('producer', { urls: redisUrls, cluster: !!cluster }, logger);
  await redisReady(producerRedis);
  const storage = new ObsClient({
    endpoint: devstack.obs.endpoint,
    region: devstack.obs.region,
    signature: 'v4',
    pathStyle: true,
    credentials: { accessKeyId: devstack.obs.accessKeyId, secretAccessKey: devstack.obs.secretAccessKey },
  });
  const producer = new Producer({
    redis: producerRedis,
    prefix,
    storage,
    minPartSize: opts.minPartSize ?? 1024 * 1024,
    copyThreshold: opts.copyThreshold,
    urlPolicy: urlPolicyFrom({ allow: env.OBSQ_URL_ALLOW, deny: env.OBSQ_URL_DENY, timeoutMs: env.OBSQ_URL_TIMEOUT_MS ? Number(env.OBSQ_URL_TIMEOUT_MS) : undefined }).policy,
    scheduleMinIntervalMs: durationEnv(SCHEDULE_MIN_INTERVAL_MS_DEFAULT, 1000).parse(env.OBSQ_SCHEDULE_MIN_INTERVAL),
    logger,
  });
  const workers: WorkerProcess[] = [];

  const startWorker = async (extraEnv: Record<string, string> = {}): Promise<WorkerProcess> => {
    const child = spawn(process.execPath, [...OBSQ_CLI, 'worker'], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | string>((res) => child.once('exit', (code, sig) => res(code ?? sig ?? -1)));
    const proc = { child, output: () => out, exited, metricsUrl: '' };
    workers.push(proc);
    await waitFor(() => out.includes('"worker ready"') || child.exitCode !== null, { timeoutMs: 30_000, what: 'worker ready' });
    if (child.exitCode !== null) throw new Error(`worker exited at start: ${out}`);
    proc.metricsUrl = /"metricsUrl":"([^"]+)"/.exec(out)?.[1] ?? '';
    return proc;
  };
  for (let i = 0; i < (opts.workers ?? 0); i++) await startWorker();

  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.exited));
      // No secret ever reaches a log line, whatever the test did.
      const secrets = [devstack.obs.secretAccessKey, devstack.sis?.sk].filter((x): x is string => !!x);
      const leakedSecret = workers.some((w) => secrets.some((secret) => w.output().includes(secret)));
      await producer.close().catch(() => undefined);
      await storage.close().catch(() => undefined);
      await quitRedis(producerRedis);
      // Everything the test opened is closed: no client is left on any Redis node.
      let clientsLeft: unknown;
      for (const node of cluster?.nodes ?? [redis]) {
        await waitFor(async () => (await node.connectedClients()) === 0, { timeoutMs: 10_000, what: 'no Redis client left connected' }).catch(
          (err: unknown) => (clientsLeft = err),
        );
      }
      await devstack.close();
      await (cluster ?? redis).stop();
      await rm(dir, { recursive: true, force: true });
      if (leakedSecret) throw new Error('a worker logged a secret key');
      if (clientsLeft) throw clientsLeft;
    })());
  return { redis, devstack, dir, storage, producer, producerRedis, env, workers, startWorker, close, [Symbol.asyncDispose]: close };
}

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** sha256 of an object, streamed from GetObject. */
export async function sha256Object(storage: ObsClient, bucket: string, key: string): Promise<string> {
  const res = await storage.getObject({ bucket, key });
  const h = createHash('sha256');
  for await (const chunk of res.body!.response) h.update(chunk as Buffer);
  return h.digest('hex');
}
