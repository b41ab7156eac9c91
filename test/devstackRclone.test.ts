import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevstack, type Devstack } from '@obsq/devstack';
import { ObsClient } from '@obsq/storage';

// rclone (Debian `rclone`, installed by scripts/bootstrap.sh) is the tool batch pipelines pick; it
// speaks S3 through aws-sdk-go, whose XML encoder writes an ETag's quotes as &#34;. This is the
// conformance test that devstack reads what a Go client writes and that a Go client reads what
// devstack writes (listings with awkward keys, multipart, server-side multipart copy).

const RCLONE_INSTALL = 'apt-get install -y --no-install-recommends rclone';
const MiB = 1024 * 1024;
/** rclone's smallest --s3-chunk-size, and S3's real minimum part size: devstack enforces it here. */
const PART = 5 * MiB;
/** Test-side deadline per rclone command; rclone's own --contimeout/--timeout come first. */
const COMMAND_DEADLINE_MS = 120_000;

const rcloneVersion = (() => {
  const r = spawnSync('rclone', ['version'], { encoding: 'utf8', timeout: 10_000 });
  return r.error || r.status !== 0 ? undefined : (r.stdout.split('\n')[0] ?? '');
})();
// Outside CI a developer without rclone skips; CI must have it (a missing tool is a failure there).
const inCi = process.env.CI === 'true';

describe('rclone is installed', () => {
  it.runIf(inCi)('under CI', () => {
    expect(rcloneVersion, `rclone not found on PATH: ${RCLONE_INSTALL} (scripts/bootstrap.sh does it)`).toBeDefined();
  });
});

interface RcloneRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

describe.skipIf(rcloneVersion === undefined && !inCi)('rclone against devstack', () => {
  let ds: Devstack;
  let home: string;
  let client: ObsClient;
  const BUCKET = 'rclone';

  beforeAll(async () => {
    ds = await startDevstack({ buckets: [BUCKET], minPartSize: PART });
    home = await mkdtemp(join(tmpdir(), 'obsq-rclone-'));
    client = new ObsClient({
      endpoint: ds.obs.endpoint,
      signature: 'v4',
      pathStyle: true,
      region: ds.obs.region,
      credentials: { accessKeyId: ds.obs.accessKeyId, secretAccessKey: ds.obs.secretAccessKey },
      keepAliveTimeoutMs: 10,
    });
  });

  afterAll(async () => {
    await client?.close();
    await ds?.close();
    if (home) {
      // Configuration came from the environment only: rclone wrote no config file.
      const wroteConfig = existsSync(join(home, 'rclone.conf'));
      await rm(home, { recursive: true, force: true });
      expect(wroteConfig, 'rclone wrote a config file').toBe(false);
    }
  });

  /**
   * Runs rclone with the `dev:` remote configured through RCLONE_CONFIG_DEV_* only, in a clean
   * environment (HOME and RCLONE_CONFIG in a temp dir, no proxy variables inherited). Bounded
   * timeouts and a single try per request and per command, so a failure shows instead of being
   * retried away; killed (this child only) at the deadline.
   */
  function rclone(args: string[]): Promise<RcloneRun> {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_CACHE_HOME: join(home, '.cache'),
      RCLONE_CONFIG: join(home, 'rclone.conf'),
      RCLONE_CONFIG_DEV_TYPE: 's3',
      RCLONE_CONFIG_DEV_PROVIDER: 'Other',
      RCLONE_CONFIG_DEV_ENV_AUTH: 'false',
      RCLONE_CONFIG_DEV_ACCESS_KEY_ID: ds.obs.accessKeyId,
      RCLONE_CONFIG_DEV_SECRET_ACCESS_KEY: ds.obs.secretAccessKey,
      RCLONE_CONFIG_DEV_REGION: ds.obs.region,
      RCLONE_CONFIG_DEV_ENDPOINT: ds.obs.endpoint,
      RCLONE_CONFIG_DEV_FORCE_PATH_STYLE: 'true',
    };
    const common = ['--contimeout', '5s', '--timeout', '30s', '--retries', '1', '--low-level-retries', '1', '--stats', '0', '-v'];
    return new Promise((resolve, reject) => {
      const child = spawn('rclone', [...args, ...common], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const deadline = setTimeout(() => {
        output += `\n[test] rclone ${args.join(' ')} still running after ${COMMAND_DEADLINE_MS} ms: killed`;
        child.kill('SIGKILL');
      }, COMMAND_DEADLINE_MS);
      child.once('error', (err) => {
        clearTimeout(deadline);
        reject(new Error(`cannot run rclone (${RCLONE_INSTALL})`, { cause: err }));
      });
      child.once('close', (code, signal) => {
        clearTimeout(deadline);
        resolve({ code, signal, output });
      });
    });
  }

  async function ok(args: string[]): Promise<string> {
    const r = await rclone(args);
    expect(r.code, `rclone ${args.join(' ')} (${rcloneVersion ?? 'rclone missing'}):\n${r.output}`).toBe(0);
    return r.output;
  }

  const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
  const requests = (op: string) => ds.stats().operations[op]?.requests ?? 0;

  it('multipart copy, server-side multipart copyto, then check: 0 differences', async () => {
    const local = join(home, 'big');
    await mkdir(local);
    const content = randomBytes(2 * PART + 4321); // three parts of --s3-chunk-size 5M
    await writeFile(join(local, 'big file.bin'), content);

    ds.resetStats();
    await ok(['copy', local, `dev:${BUCKET}/up`, '--s3-upload-cutoff', '1M', '--s3-chunk-size', '5M', '--s3-upload-concurrency', '2']);
    expect(requests('UploadPart')).toBe(3);
    expect(requests('CompleteMultipartUpload')).toBe(1);
    const up = await client.headObject({ bucket: BUCKET, key: 'up/big file.bin' });
    expect(up.body).toMatchObject({ contentLength: content.length, etag: expect.stringMatching(/^"[0-9a-f]{32}-3"$/) });

    ds.resetStats();
    await ok(['copyto', `dev:${BUCKET}/up/big file.bin`, `dev:${BUCKET}/copied/big file.bin`, '--s3-copy-cutoff', '5M']);
    expect(requests('UploadPartCopy')).toBe(3);
    expect(requests('CompleteMultipartUpload')).toBe(1);
    expect(requests('PutObject') + requests('UploadPart')).toBe(0); // server-side: no bytes through rclone
    const copied = await client.headObject({ bucket: BUCKET, key: 'copied/big file.bin' });
    expect(copied.body).toMatchObject({ contentLength: content.length, etag: expect.stringMatching(/-3"$/) });

    // A multipart ETag is no MD5: rclone reads the MD5 it stored in the object's metadata, so a
    // hash check really happens (rclone counts a missing hash as "could not be checked", not a difference).
    const sums = await ok(['md5sum', `dev:${BUCKET}`]);
    expect(sums).toContain(`${md5(content)}  up/big file.bin`);
    expect(sums).toContain(`${md5(content)}  copied/big file.bin`);
    const checkUp = await ok(['check', local, `dev:${BUCKET}/up`]);
    expect(checkUp).toMatch(/\b0 differences found/);
    expect(checkUp).toMatch(/\b1 matching files/);
    expect(checkUp).not.toMatch(/could not be checked/);
    // The copy, byte for byte (--download reads it back instead of trusting hashes).
    const checkCopy = await ok(['check', '--download', local, `dev:${BUCKET}/copied`]);
    expect(checkCopy).toMatch(/\b0 differences found/);
    const got = await client.getObject({ bucket: BUCKET, key: 'copied/big file.bin' });
    const chunks: Buffer[] = [];
    for await (const c of got.body!.response) chunks.push(c as Buffer);
    expect(md5(Buffer.concat(chunks))).toBe(md5(content));
  }, 300_000);

  it('a directory of small files with awkward names: copy, check, and obsq lists the same keys', async () => {
    const local = join(home, 'small');
    const names = ['a.txt', 'with space.txt', 'amp&ersand.txt', 'quote"and\'apos.txt', 'lt<gt>.txt', 'ünïcödé ✓.txt', 'deep/er/nested.txt', 'empty.txt'];
    const files = new Map<string, Buffer>(names.map((n, i) => [n, n === 'empty.txt' ? Buffer.alloc(0) : randomBytes(100 + i * 37)]));
    for (const [name, bytes] of files) {
      await mkdir(dirname(join(local, name)), { recursive: true });
      await writeFile(join(local, name), bytes);
    }
    ds.resetStats();
    await ok(['copy', local, `dev:${BUCKET}/small`, '--transfers', '4']);
    expect(requests('PutObject')).toBe(names.length);

    const check = await ok(['check', local, `dev:${BUCKET}/small`]);
    expect(check).toMatch(/\b0 differences found/);
    expect(check).toMatch(new RegExp(`\\b${names.length} matching files`));
    expect(check).not.toMatch(/could not be checked/);

    const listed = await client.listAllObjects({ bucket: BUCKET, prefix: 'small/' });
    expect(listed.map((o) => o.key).sort()).toEqual(names.map((n) => `small/${n}`).sort());
    for (const o of listed) expect(o.etag).toBe(`"${md5(files.get(o.key.slice('small/'.length))!)}"`);

    // A changed file is a difference: check really compares.
    await writeFile(join(local, 'a.txt'), 'changed');
    const differs = await rclone(['check', local, `dev:${BUCKET}/small`]);
    expect(differs.code, differs.output).not.toBe(0);
    expect(differs.output).toMatch(/\b1 differences found/);
  }, 300_000);
});
