import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { OBSQ_CLI, runObsq } from './helpers/cli.js';
import { waitFor } from './helpers/waitFor.js';

const REPO = join(import.meta.dirname, '..');

const obsq = runObsq;

/** Starts a long-running `obsq <args>` and collects its output. */
function obsqService(args: string[], env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, [...OBSQ_CLI, ...args], { cwd: REPO, env: { PATH: process.env.PATH ?? '', ...env } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

let redis: TestRedis;
let dir: string;
let devstack: ReturnType<typeof obsqService>;
let worker: ReturnType<typeof obsqService>;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'obsq-cli-'));
  redis = await startRedis();
  devstack = obsqService(['devstack', '--obs-port', '0', '--buckets', 'cli', '--min-part-size', String(1024 * 1024)], {});
  const line = await waitFor(() => devstack.output().split('\n').find((l) => l.startsWith('{"obs"')), { what: 'devstack ready line' });
  const ready = JSON.parse(line) as { obs: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string } };
  env = {
    OBSQ_REDIS_URL: redis.url,
    OBSQ_OBS_ENDPOINT: ready.obs.endpoint,
    OBSQ_OBS_REGION: ready.obs.region,
    OBSQ_OBS_SIGNATURE: 'v2',
    OBSQ_OBS_PATH_STYLE: 'true',
    OBSQ_OBS_ACCESS_KEY_ID: ready.obs.accessKeyId,
    OBSQ_OBS_SECRET_ACCESS_KEY: ready.obs.secretAccessKey,
    OBSQ_OBS_MIN_PART_SIZE: '1MiB',
    OBSQ_SOURCE_ROOTS: dir,
    OBSQ_METRICS_HOST: '127.0.0.1',
    OBSQ_METRICS_PORT: '0',
  };
  worker = obsqService(['worker'], env);
  await waitFor(() => worker.output().includes('"worker ready"'), { what: 'worker ready' });
});

afterAll(async () => {
  for (const svc of [worker, devstack]) {
    if (svc && svc.child.exitCode === null) svc.child.kill('SIGTERM');
  }
  expect(await worker?.exited).toBe(0);
  expect(await devstack?.exited).toBe(0);
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the obsq CLI against obsq devstack and obsq worker', () => {
  it('upload --wait --json prints the GetResult and exits 0; result reads it back; copy works', async () => {
    const path = join(dir, 'cli.bin');
    await writeFile(path, randomBytes(3 * 1024 * 1024 + 17));
    const up = await obsq(['upload', path, 'obs://cli/in/cli.bin', '--part-size', '1MiB', '--wait', '--json', '--job-id', 'cli-upload-1'], env);
    expect(up.stderr).not.toMatch(/SecretAccessKey|Signature=/);
    expect(up.code).toBe(0);
    const rec = JSON.parse(up.stdout.trim()) as { status: number; body: { parts: number; size: number } };
    expect(rec).toMatchObject({ status: 200, body: { parts: 4, size: 3 * 1024 * 1024 + 17 } });

    const again = await obsq(['result', 'cli-upload-1', '--json'], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout.trim())).toMatchObject({ status: 200 });

    const cp = await obsq(['copy', 'obs://cli/in/cli.bin', 'obs://cli/out/cli.bin', '--replace-metadata', 'stage=done', '--wait', '--json'], env);
    expect(cp.code).toBe(0);
    expect(JSON.parse(cp.stdout.trim())).toMatchObject({ status: 200, body: { path: 'single' } });
  });

  it('failures exit non-zero with a message naming the problem', async () => {
    const path = join(dir, 'small.bin');
    await writeFile(path, 'x');
    const bad = await obsq(['upload', path, 'obs://Bad_Bucket/k', '--wait'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/bucket: /);
    const missing = await obsq(['upload', path, 'obs://no-such-bucket/k', '--wait', '--json'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NoSuchBucket|404/);
    const unknown = await obsq(['result', 'never-enqueued'], env);
    expect(unknown.code).toBe(3);
    const config = await obsq(['upload', path, 'obs://cli/k'], { OBSQ_REDIS_URL: redis.url });
    expect(config.code).toBe(2);
    expect(config.stderr).toMatch(/OBSQ_OBS_ENDPOINT/);
    const workerConfig = await obsq(['worker'], { ...env, OBSQ_CONCURRENCY_UPLOAD_PART: 'lots', OBSQ_OBS_SIGNATURE: 'v9' });
    expect(workerConfig.code).toBe(1);
    expect(workerConfig.stderr).toMatch(/OBSQ_CONCURRENCY_UPLOAD_PART: must be a positive integer/);
    expect(workerConfig.stderr).toMatch(/OBSQ_OBS_SIGNATURE: /);
    expect(workerConfig.stderr).not.toContain(env.OBSQ_OBS_SECRET_ACCESS_KEY!);
  });
});
