import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '@obsq/shared';
import { startStack, type Stack } from './helpers/stack.js';
import { OBSQ_CLI, runObsq } from './helpers/cli.js';
import { waitFor } from './helpers/waitFor.js';

// `obsq ui` in a real headless Chromium (Debian's, installed by scripts/bootstrap.sh): bull-board
// lists every obsq queue and shows a failed job with its error code; the records page shows the
// failure's GetResult. Screenshots go to $OBSQ_UI_SCREENSHOTS (default: the OS temp dir).

const REPO = resolve(import.meta.dirname, '..');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const AUTH = { OBSQ_UI_USER: 'ops', OBSQ_UI_PASSWORD: 'ui-test-password' };
const SHOTS = process.env.OBSQ_UI_SCREENSHOTS ?? tmpdir();

let stack: Stack;
let ui: { child: ChildProcess; output: () => string; exited: Promise<number | null>; url: string };
let profile: string;
let context: BrowserContext;

beforeAll(async () => {
  stack = await startStack({ workers: 1, buckets: ['ingest'] });
  // A failed job with a known code: a payload the worker refuses.
  await stack.producer.queue('copy-object').add('copy-object', { mode: 'single' }, { jobId: 'ui-bad-copy', attempts: 1 });
  await waitFor(() => stack.producer.getResult('ui-bad-copy'), { what: 'failure record' });

  const child = spawn(process.execPath, [...OBSQ_CLI, 'ui', '--port', '0'], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...stack.env, ...AUTH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await waitFor(() => /obsq ui: (http:\/\/\S+)/.exec(out)?.[1] ?? (child.exitCode !== null ? 'exited' : undefined), { what: 'ui listening' });
  if (url === 'exited') throw new Error(`obsq ui exited: ${out}`);
  ui = { child, output: () => out, exited, url };

  profile = await mkdtemp(join(tmpdir(), 'obsq-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    httpCredentials: { username: AUTH.OBSQ_UI_USER, password: AUTH.OBSQ_UI_PASSWORD },
    viewport: { width: 1400, height: 900 },
  });
});

afterAll(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  if (ui && ui.child.exitCode === null) ui.child.kill('SIGTERM');
  // SIGTERM is a clean stop: exit 0, and every Redis client closed (checked by stack.close()).
  expect(await ui?.exited).toBe(0);
  await stack?.close();
});

describe('obsq ui', () => {
  it('needs credentials for a non-loopback address', async () => {
    const run = await runObsq(['ui', '--host', '0.0.0.0', '--port', '0'], stack.env);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/OBSQ_UI_USER and OBSQ_UI_PASSWORD are required to serve on 0\.0\.0\.0/);
  });

  it('asks for basic auth and is read-only', async () => {
    expect(ui.output()).toMatch(/\(read-only, basic auth\)/);
    const anonymous = await fetch(`${ui.url}queues`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="obsq"/);
    const wrong = await fetch(`${ui.url}queues`, { headers: { authorization: `Basic ${Buffer.from('ops:nope').toString('base64')}` } });
    expect(wrong.status).toBe(401);
    const auth = { authorization: `Basic ${Buffer.from(`${AUTH.OBSQ_UI_USER}:${AUTH.OBSQ_UI_PASSWORD}`).toString('base64')}` };
    const clean = await fetch(`${ui.url}queues/api/queues/copy-object/clean/failed`, { method: 'PUT', headers: auth });
    expect(clean.status).toBeGreaterThanOrEqual(400);
    expect(await stack.producer.queue('copy-object').getJob('ui-bad-copy')).toBeDefined();
    const records = (await (await fetch(`${ui.url}api/records?failed=1`, { headers: auth })).json()) as Array<{ jobId: string; result: { errorCode: string } }>;
    expect(records.find((r) => r.jobId === 'ui-bad-copy')?.result.errorCode).toBe('OBSQ_VALIDATION');
  });

  it('lists every obsq queue and shows a failed job with its error code, in Chromium', async () => {
    const page = await context.newPage();
    await page.goto(`${ui.url}queues`);
    for (const name of QUEUE_NAMES) await page.getByText(name, { exact: true }).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(SHOTS, 'obsq-ui-queues.png'), fullPage: true });

    await page.goto(`${ui.url}queues/queue/copy-object?status=failed`);
    await page.getByText('ui-bad-copy').first().waitFor({ timeout: 30_000 });
    await page.getByText(/OBSQ_VALIDATION: /).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(SHOTS, 'obsq-ui-failed-job.png'), fullPage: true });

    await page.goto(`${ui.url}records?failed=1`);
    const row = page.locator('tr[data-job-id="ui-bad-copy"]');
    await row.waitFor();
    expect(await row.locator('.error-code').textContent()).toBe('OBSQ_VALIDATION');
    await page.screenshot({ path: join(SHOTS, 'obsq-ui-records.png'), fullPage: true });

    await row.getByRole('link', { name: 'ui-bad-copy' }).click();
    await page.waitForURL(/\/records\/ui-bad-copy$/);
    expect(await page.locator('.error-code').first().textContent()).toBe('OBSQ_VALIDATION');
    await page.close();
  });
});
