import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SIS_ERROR_CODES } from '@obsq/speech';
import { STORAGE_RETRY_RULES } from '@obsq/storage';
import { beforeAll, describe, expect, it } from 'vitest';

// docs/errors.md must list every code obsq can throw or record, with the right retryability, so it
// cannot drift from the code silently. The union is read as text: it is a type and has no runtime value.
const ROOT = resolve(import.meta.dirname, '..');

let doc: string;
let union: string[];

/** The body of the `## heading` section (up to the next `## `). */
function section(heading: string): string {
  const start = doc.indexOf(`\n## ${heading}`);
  expect(start, `docs/errors.md has a "## ${heading}" section`).toBeGreaterThanOrEqual(0);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end === -1 ? undefined : end);
}

/** Table rows of a section as trimmed cells, header and rule rows dropped. */
function rows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[\s:|-]+\|$/.test(l))
    .map((l) => l.slice(1, -1).split('|').map((c) => c.trim()))
    .slice(1);
}

/** Backquoted tokens of a cell: `` `SlowDown`, `SIS.0301` `` → ['SlowDown', 'SIS.0301']. */
const quoted = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

beforeAll(async () => {
  doc = await readFile(resolve(ROOT, 'docs/errors.md'), 'utf8');
  const source = await readFile(resolve(ROOT, 'packages/shared/src/errors/errors.ts'), 'utf8');
  const decl = /export type ObsqErrorCode\s*=([^;]+);/.exec(source);
  expect(decl, 'errors.ts declares `export type ObsqErrorCode = ...;`').not.toBeNull();
  union = [...decl![1]!.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
});

describe('docs/errors.md', () => {
  it('has one row per ObsqErrorCode, and no row for a code that is gone', () => {
    expect(union.length).toBeGreaterThanOrEqual(10);
    expect(union).toContain('OBSQ_INTERNAL');
    const table = rows(section('obsq error codes'));
    const documented = table.map((r) => quoted(r[0]!)[0]);
    for (const code of union) expect(documented, `docs/errors.md lists ${code}`).toContain(code);
    expect(documented.filter((c) => c === undefined || !union.includes(c)), 'rows for codes not in ObsqErrorCode').toEqual([]);
    for (const r of table) expect(r[1], `${r[0]} says whether it is permanent`).toMatch(/permanent|retryable/);
  });

  it('gives every retry-table code and status the table’s verdict', () => {
    const verdict = new Map<string, string>();
    for (const r of rows(section('Storage codes'))) {
      const cell = r[1]!;
      for (const token of quoted(cell)) verdict.set(token, r[2]!);
      // Status ranges are written `505`–`599`.
      for (const m of cell.matchAll(/`(\d+)`–`(\d+)`/g)) verdict.set(`${m[1]}-${m[2]}`, r[2]!);
    }
    for (const rule of STORAGE_RETRY_RULES) {
      const key = rule.code ?? (typeof rule.status === 'number' ? String(rule.status) : `${rule.status![0]}-${rule.status![1]}`);
      expect(verdict.get(key), `retry table row for ${key}`).toBe(rule.retryable ? 'yes' : 'no');
    }
  });

  it('gives every SIS code its retryability', () => {
    const table = new Map(rows(section('SIS codes')).map((r) => [quoted(r[0]!)[0], r[1]]));
    for (const [code, info] of Object.entries(SIS_ERROR_CODES)) {
      expect(table.get(code), `SIS row for ${code}`).toBe(info.retryable ? 'yes' : 'no');
    }
    expect([...table.keys()].filter((c) => c === undefined || !(c in SIS_ERROR_CODES)), 'rows for codes not in SIS_ERROR_CODES').toEqual([]);
  });
});
