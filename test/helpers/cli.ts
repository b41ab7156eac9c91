import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '../..');
/**
 * Node arguments that run the compiled obsq CLI exactly as `pnpm obsq` and the workspace's `obsq`
 * bin do (the launcher turns source maps on). Vitest's global setup builds it first.
 */
export const OBSQ_CLI = [join(REPO, 'packages/cli/bin/obsq.js')];
/** Node arguments that run the compiled devstack entry point (`node --enable-source-maps …/devstack.js`). */
export const DEVSTACK_CLI = ['--enable-source-maps', join(REPO, 'packages/cli/dist/devstack.js')];

/** Output of one finished `obsq` command. */
export interface ObsqRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `obsq <args>` to completion with only PATH, HOME and `env` in its environment. */
export function runObsq(args: string[], env: Record<string, string>): Promise<ObsqRun> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [...OBSQ_CLI, ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}
