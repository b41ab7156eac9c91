import { randomBytes } from 'node:crypto';
import { open, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildObsq } from '../scripts/build.js';
import { runObsq } from './helpers/cli.js';
import { sha256File, sha256Object, startStack, type Stack } from './helpers/stack.js';
import { waitFor } from './helpers/waitFor.js';

/*
 * Issue 12: the CLI, the worker and the devstack run as compiled JavaScript (packages/cli/dist,
 * bundled by scripts/build.ts), with source maps so that what they log still points at .ts lines;
 * upload-part reads a part once into a pooled buffer up to 64 MiB, and streams bigger parts.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 1 });
});
afterAll(async () => {
  await stack?.close();
});

describe('compiled build (issue 12)', () => {
  it('bundles the workspace packages and imports only npm packages that @obsq/cli depends on', async () => {
    const { outputs, externals } = await buildObsq();
    expect(outputs).toContain('packages/cli/dist/obsq.js');
    expect(outputs).toContain('packages/cli/dist/devstack.js');
    expect(outputs.every((o) => o.startsWith('packages/cli/dist/'))).toBe(true);
    const deps = (JSON.parse(await readFile(join(import.meta.dirname, '../packages/cli/package.json'), 'utf8')) as { dependencies: Record<string, string> })
      .dependencies;
    expect(externals.filter((e) => !(e in deps))).toEqual([]);
    expect(externals.some((e) => e.startsWith('@obsq/'))).toBe(false);
  });

  it('`obsq --help` runs from the bundle', async () => {
    const run = await runObsq(['--help'], {});
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^obsq <command>/);
  });

  it('a failed job logged by the compiled worker names the .ts file and line that threw', async () => {
    const outside = join(tmpdir(), `obsq-issue12-${process.pid}.bin`);
    await writeFile(outside, 'outside the roots');
    const link = join(stack.dir, 'escape.bin');
    await symlink(outside, link);
    const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path: link }, bucket: 'ingest', key: 'issue12.bin' });
    await stack.producer.waitForResult(enq.jobId, { timeoutMs: 30_000 });
    await rm(outside, { force: true });
    const worker = stack.workers[0]!;
    const line = await waitFor(
      () => worker.output().split('\n').find((l) => l.includes('"errorCode":"OBSQ_SOURCE_FORBIDDEN"') && l.includes(`${enq.jobId}-part-1`)),
      { what: 'the failed part logged' },
    );
    const stackTrace = (JSON.parse(line) as { err: { stack: string } }).err.stack;
    expect(stackTrace).toMatch(/packages\/worker\/src\/sources\/pinnedFile\.ts:\d+:\d+/);
    expect(stackTrace).not.toMatch(/dist\/chunks/);
  });

  it('parts up to 64 MiB (read once, pooled buffers) and a bigger one (streamed twice) both arrive intact', async () => {
    const path = join(stack.dir, 'parts.bin');
    const fh = await open(path, 'w');
    for (let i = 0; i < 18; i++) await fh.write(randomBytes(4 * 1024 * 1024));
    await fh.close();
    for (const [key, partSize] of [['small-parts.bin', '8MiB'], ['one-big-part.bin', '72MiB']] as const) {
      const enq = await stack.producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'ingest', key, partSize });
      const rec = await stack.producer.waitForResult(enq.jobId, { timeoutMs: 60_000 });
      expect(rec.result.status, `${key}: ${rec.result.errorMessage}`).toBe(200);
      expect(await sha256Object(stack.storage, 'ingest', key)).toBe(await sha256File(path));
    }
  });
});
