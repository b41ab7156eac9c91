import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = resolve(import.meta.dirname, '../scripts/testSummary.mjs');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'obsq-summary-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function summary(report: object, ci: string | undefined): Promise<{ status: number | null; out: string }> {
  const file = join(dir, `r${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(report));
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  if (ci !== undefined) env.CI = ci;
  const r = spawnSync(process.execPath, [SCRIPT, file], { env, encoding: 'utf8' });
  return { status: r.status, out: r.stdout };
}

const withSkip = {
  numPassedTests: 5,
  numFailedTests: 0,
  numPendingTests: 1,
  numTodoTests: 0,
  testResults: [{ name: '/repo/test/x.test.ts', assertionResults: [{ status: 'skipped', fullName: 'sox converts µ-law' }, { status: 'passed', fullName: 'ok' }] }],
};

describe('scripts/testSummary.mjs', () => {
  it('fails a run with skipped tests under CI=true, naming them', async () => {
    const r = await summary(withSkip, 'true');
    expect(r.status).toBe(1);
    expect(r.out).toContain('tests: 5 passed, 0 failed, 1 skipped');
    expect(r.out).toContain('/repo/test/x.test.ts: sox converts µ-law');
    expect(r.out).toContain('not allowed under CI');
  });

  it('lets skips pass outside CI, and fails on failures or when nothing ran', async () => {
    expect((await summary(withSkip, undefined)).status).toBe(0);
    expect((await summary({ ...withSkip, numPendingTests: 0, testResults: [] }, 'true')).status).toBe(0);
    expect((await summary({ ...withSkip, numFailedTests: 1 }, undefined)).status).toBe(1);
    expect((await summary({ numPassedTests: 0 }, undefined)).status).toBe(1);
  });
});
