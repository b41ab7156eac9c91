import { createReadStream } from 'node:fs';
import { opendir } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { PathFilter } from './globFilter.js';

/** One file or URL of a batch, before it is checked and enqueued. */
export interface BatchItem {
  kind: 'file' | 'url';
  /** Absolute path or http(s) URL. */
  source: string;
  /** Object key (destination prefix included). */
  key: string;
  contentType?: string;
  metadata?: Record<string, string>;
  /** 1-based manifest line it came from. */
  line?: number;
}

/** An item the batch refuses before enqueueing (bad manifest line). */
export interface BatchItemProblem {
  problem: { line?: number; source: string; key: string; field: string; rule: string };
}

/** What the item sources yield. */
export type BatchEntry = BatchItem | BatchItemProblem;

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/** Byte order of UTF-8, which is how S3 lists keys. */
const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/**
 * Every regular file under `root`, recursively, as a key below `prefix` (relative POSIX path),
 * each directory's entries in UTF-8 byte order (repeatable runs enqueue in the same order). Symbolic
 * links are not followed (rclone's default); `onSymlink` hears of each.
 */
export async function* walkDirectory(
  root: string,
  prefix: string,
  filter: PathFilter,
  onSymlink: (path: string) => void,
): AsyncGenerator<BatchItem> {
  const base = resolve(root);
  // An explicit stack instead of recursion: deep trees cannot exhaust the call stack.
  const stack: Array<{ dir: string; rel: string }> = [{ dir: base, rel: '' }];
  while (stack.length > 0) {
    const { dir, rel } = stack.pop()!;
    const entries: Array<{ name: string; sortName: string; kind: 'dir' | 'file' | 'link' | 'other' }> = [];
    for await (const d of await opendir(dir)) {
      const kind = d.isDirectory() ? 'dir' : d.isFile() ? 'file' : d.isSymbolicLink() ? 'link' : 'other';
      entries.push({ name: d.name, sortName: kind === 'dir' ? `${d.name}/` : d.name, kind });
    }
    entries.sort((a, b) => byUtf8(a.sortName, b.sortName));
    const subdirs: Array<{ dir: string; rel: string }> = [];
    for (const e of entries) {
      const childRel = rel === '' ? e.name : `${rel}/${e.name}`;
      const path = `${dir}/${e.name}`;
      if (e.kind === 'dir') subdirs.push({ dir: path, rel: childRel });
      else if (e.kind === 'link') onSymlink(path);
      else if (e.kind === 'file' && filter.matches(childRel)) yield { kind: 'file', source: path, key: prefix + childRel };
    }
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
  }
}

/** The key of a lone file or URL argument: its last path element below `prefix`. */
export function argumentKey(source: string, prefix: string): string {
  if (isUrl(source)) {
    const path = new URL(source).pathname;
    const last = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
    return prefix + last;
  }
  return prefix + basename(source);
}

/** A file or URL named on the command line. */
export function argumentItem(source: string, prefix: string): BatchItem {
  return isUrl(source) ? { kind: 'url', source, key: argumentKey(source, prefix) } : { kind: 'file', source: resolve(source), key: argumentKey(source, prefix) };
}

/** Splits one CSV line (RFC 4180 quoting, no embedded newlines). */
function csvFields(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return undefined;
        v += line.slice(i, q);
        if (line[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(v);
    } else {
      const c = line.indexOf(',', i);
      out.push(c < 0 ? line.slice(i) : line.slice(i, c));
      i = c < 0 ? line.length : c;
    }
    if (i >= line.length) return out;
    if (line[i] !== ',') return undefined;
    i++;
  }
}

const str = (v: unknown): v is string => typeof v === 'string';

/**
 * Items of a manifest, read line by line (never the whole file in memory): JSON Lines
 * `{"source": "...", "key": "...", "contentType"?, "metadata"?}` or CSV `source,key` (an optional
 * `source,key` header; blank lines and lines starting with `#` are ignored). The format is taken
 * from the first item line. Keys go below `prefix`; relative paths resolve against `baseDir`.
 */
export async function* readManifest(input: Readable, prefix: string, baseDir: string): AsyncGenerator<BatchEntry> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let format: 'jsonl' | 'csv' | undefined;
  let n = 0;
  for await (const raw of lines) {
    n++;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    format ??= line.startsWith('{') ? 'jsonl' : 'csv';
    const bad = (field: string, rule: string, source = '', key = ''): BatchItemProblem => ({ problem: { line: n, source, key, field, rule } });
    let source: unknown;
    let key: unknown;
    let contentType: unknown;
    let metadata: unknown;
    if (format === 'jsonl') {
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch (err) {
        yield bad('line', `is not valid JSON: ${(err as Error).message}`);
        continue;
      }
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
        yield bad('line', 'must be a JSON object');
        continue;
      }
      ({ source, key, contentType, metadata } = obj as Record<string, unknown>);
      const extra = Object.keys(obj).filter((k) => !['source', 'key', 'contentType', 'metadata'].includes(k));
      if (extra.length > 0) {
        yield bad(extra[0]!, 'is not a manifest field (source, key, contentType, metadata)', str(source) ? source : '', str(key) ? key : '');
        continue;
      }
    } else {
      const fields = csvFields(line);
      if (!fields || fields.length !== 2) {
        yield bad('line', 'must be two CSV fields: source,key');
        continue;
      }
      if (n === 1 && fields[0] === 'source' && fields[1] === 'key') continue;
      [source, key] = fields;
    }
    if (!str(source) || source === '') {
      yield bad('source', 'must be a non-empty string', '', str(key) ? key : '');
      continue;
    }
    if (!str(key) || key === '') {
      yield bad('key', 'must be a non-empty string', source);
      continue;
    }
    if (contentType !== undefined && !str(contentType)) {
      yield bad('contentType', 'must be a string', source, key);
      continue;
    }
    if (metadata !== undefined && (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata) || !Object.values(metadata).every(str))) {
      yield bad('metadata', 'must be an object of string values', source, key);
      continue;
    }
    const url = isUrl(source);
    yield {
      kind: url ? 'url' : 'file',
      source: url || isAbsolute(source) ? source : resolve(baseDir, source),
      key: prefix + key,
      ...(contentType !== undefined ? { contentType } : {}),
      ...(metadata !== undefined ? { metadata: metadata as Record<string, string> } : {}),
      line: n,
    };
  }
}

/** Opens a manifest file, or standard input for `-`; returns the stream and the base directory of relative paths. */
export function openManifest(path: string): { stream: Readable; baseDir: string } {
  if (path === '-') return { stream: process.stdin, baseDir: process.cwd() };
  const abs = resolve(path);
  return { stream: createReadStream(abs), baseDir: dirname(abs) };
}
