import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseDevstackArgs, runDevstackCli } from './runDevstackCli.js';

/** Runs the CLI in-process until its ready line, then stops it through the abort signal. */
async function readyLine(argv: string[]): Promise<{ line: Record<string, Record<string, unknown>>; code: number }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stderr.resume();
  const stop = new AbortController();
  const first = new Promise<string>((resolve) => stdout.once('data', (d: Buffer) => resolve(d.toString())));
  const exit = runDevstackCli(argv, { stdout, stderr, signal: stop.signal });
  const line = JSON.parse(await first) as Record<string, Record<string, unknown>>;
  stop.abort();
  return { line, code: await exit };
}

describe('devstack CLI flags for the SIS server', () => {
  it('parses --sis-port and --no-sis, and refuses both together', () => {
    expect(parseDevstackArgs(['--sis-port', '0']).sis).toEqual({ port: 0 });
    expect(parseDevstackArgs(['--no-sis']).sis).toBe(false);
    expect(parseDevstackArgs([]).sis).toBeUndefined();
    expect(() => parseDevstackArgs(['--no-sis', '--sis-port', '1'])).toThrow(/--sis-port: cannot be combined with --no-sis/);
    expect(() => parseDevstackArgs(['--sis-port', 'x'])).toThrow(/--sis-port: must be a non-negative integer/);
  });

  it('--require-content-md5 turns the Content-MD5 requirement on (off by default)', () => {
    expect(parseDevstackArgs(['--require-content-md5']).requireContentMd5).toBe(true);
    expect(parseDevstackArgs([]).requireContentMd5).toBeUndefined();
  });

  it('the ready line carries sis{endpoint,region,projectId,ak,sk} by default and none with --no-sis', async () => {
    const on = await readyLine(['--region', 'cn-east-3']);
    expect(on.code).toBe(0);
    expect(Object.keys(on.line)).toEqual(['obs', 'sis']);
    expect(on.line.sis).toMatchObject({ region: 'cn-east-3', endpoint: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+$/) });
    expect(Object.keys(on.line.sis!).sort()).toEqual(['ak', 'endpoint', 'projectId', 'region', 'sk']);
    const off = await readyLine(['--no-sis']);
    expect(off.code).toBe(0);
    expect(Object.keys(off.line)).toEqual(['obs']);
  });
});
