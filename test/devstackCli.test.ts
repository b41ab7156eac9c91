import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ObsClient } from '@obsq/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { DEVSTACK_CLI } from './helpers/cli.js';

const root = resolve(import.meta.dirname, '..');

interface Spawned {
  child: ChildProcess;
  stdoutLines: string[];
  /** Resolves with the first stdout line, rejects if the process exits first. */
  firstLine: Promise<string>;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];

function spawnDevstack(args: string[]): Spawned {
  const child = spawn(process.execPath, [...DEVSTACK_CLI, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const stdoutLines: string[] = [];
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  lines.on('line', (l) => stdoutLines.push(l));
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  );
  const firstLine = new Promise<string>((res, rej) => {
    lines.once('line', res);
    void exit.then(({ code }) => rej(new Error(`devstack exited (${code}) before printing: ${err}`)));
  });
  firstLine.catch(() => undefined);
  return { child, stdoutLines, firstLine, stderr: () => err, exit };
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('devstack bin', () => {
  it('prints one JSON line, serves signed requests, and exits 0 on SIGTERM', async () => {
    const data = await mkdtemp(join(tmpdir(), 'obsq-devstack-cli-'));
    try {
      const s = spawnDevstack(['--obs-port', '0', '--buckets', 'cli-bucket', '--data', data, '--access-key', 'AKCLI', '--secret-key', 'SKCLI']);
      const line = await s.firstLine;
      const ready = JSON.parse(line) as { obs: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string }; sis: Record<string, string> };
      expect(Object.keys(ready)).toEqual(['obs', 'sis']);
      expect(Object.keys(ready.sis).sort()).toEqual(['ak', 'endpoint', 'projectId', 'region', 'sk']);
      expect(ready.sis.endpoint).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      expect(Object.keys(ready.obs).sort()).toEqual(['accessKeyId', 'endpoint', 'region', 'secretAccessKey']);
      expect(ready.obs).toMatchObject({ accessKeyId: 'AKCLI', secretAccessKey: 'SKCLI' });
      expect(ready.obs.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      const client = new ObsClient({
        endpoint: ready.obs.endpoint,
        region: ready.obs.region,
        signature: 'v4',
        credentials: { accessKeyId: ready.obs.accessKeyId, secretAccessKey: ready.obs.secretAccessKey },
        maxAttempts: 1,
      });
      try {
        const put = await client.putObject({ bucket: 'cli-bucket', key: 'hello.txt', body: Buffer.from('hello') });
        expect(put.status).toBe(200);
        const head = await client.headObject({ bucket: 'cli-bucket', key: 'hello.txt' });
        expect(head.body?.contentLength).toBe(5);
      } finally {
        await client.close();
      }

      s.child.kill('SIGTERM');
      expect(await s.exit).toEqual({ code: 0, signal: null });
      expect(s.stdoutLines).toHaveLength(1);
      // A given data dir is kept: the object survives the process.
      expect((await readdir(join(data, 'buckets', 'cli-bucket', 'objects'))).length).toBeGreaterThan(0);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });

  it('exits 2 with usage on stderr for an unknown flag, printing nothing on stdout', async () => {
    const s = spawnDevstack(['--no-such-flag']);
    expect((await s.exit).code).toBe(2);
    expect(s.stdoutLines).toEqual([]);
    expect(s.stderr()).toContain('usage: devstack');
  });
});
