import { readFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The parts of a V8 `.cpuprofile` (written by `node --cpu-prof`) read here. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }; hitCount?: number }>;
  startTime: number;
  endTime: number;
}

/** One function's self time in a profile. */
export interface ProfileEntry {
  /** Function name, `(anonymous)`, or a V8 pseudo-frame such as `(garbage collector)`. */
  name: string;
  /** `file:line`: the .ts source for bundled obsq code (through its source map), else the script. */
  where: string;
  selfMs: number;
  /** Share of the busy samples (all but `(idle)`), 0–1. */
  share: number;
}

/** Self time grouped by where the code comes from: obsq, an npm package, Node itself, idle or GC. */
export interface ProfileSummary {
  /** Wall time the profile covers. */
  totalMs: number;
  /** Sampled time not idle. */
  busyMs: number;
  top: ProfileEntry[];
  byOrigin: Array<{ origin: string; selfMs: number; share: number }>;
}

const maps = new Map<string, SourceMap | undefined>();

async function sourceMapOf(path: string): Promise<SourceMap | undefined> {
  if (!maps.has(path)) {
    const payload = await readFile(`${path}.map`, 'utf8').then((t) => JSON.parse(t) as object, () => undefined);
    maps.set(path, payload ? new SourceMap(payload as ConstructorParameters<typeof SourceMap>[0]) : undefined);
  }
  return maps.get(path);
}

function originOf(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const m = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.includes('/packages/cli/dist/')) return 'obsq';
  return url;
}

/** Reads a `.cpuprofile` and sums self time per function and per origin; bundled frames are mapped back to .ts. */
export async function summariseCpuProfile(file: string, repo: string, topN = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const totalHits = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0);
  const busyHits = profile.nodes.reduce((n, node) => n + (node.callFrame.functionName === '(idle)' ? 0 : (node.hitCount ?? 0)), 0);
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const msPerHit = totalHits > 0 ? totalMs / totalHits : 0;
  const byFunction = new Map<string, { name: string; where: string; hits: number }>();
  const byOrigin = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0 || node.callFrame.functionName === '(idle)') continue;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    let where = url === '' ? '' : url.startsWith('file://') ? relative(repo, fileURLToPath(url)) : url;
    if (url.startsWith('file://') && url.includes('/packages/cli/dist/')) {
      const entry = (await sourceMapOf(fileURLToPath(url)))?.findEntry(lineNumber, columnNumber) as
        | { originalSource?: string; originalLine?: number }
        | undefined;
      if (entry?.originalSource) {
        const src = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : entry.originalSource;
        where = `${relative(repo, src.startsWith('/') ? src : `${repo}/${src}`)}:${(entry.originalLine ?? 0) + 1}`;
      }
    } else if (where !== '') {
      where = `${where.replace(/^.*node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?/, '')}:${lineNumber + 1}`;
    }
    const key = `${name}@${where}`;
    const cur = byFunction.get(key) ?? { name, where, hits: 0 };
    cur.hits += hits;
    byFunction.set(key, cur);
    const origin = originOf(url, name);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + hits);
  }
  const share = (hits: number) => (busyHits > 0 ? hits / busyHits : 0);
  return {
    totalMs,
    busyMs: busyHits * msPerHit,
    top: [...byFunction.values()]
      .sort((a, b) => b.hits - a.hits)
      .slice(0, topN)
      .map((f) => ({ name: f.name, where: f.where, selfMs: f.hits * msPerHit, share: share(f.hits) })),
    byOrigin: [...byOrigin.entries()].sort((a, b) => b[1] - a[1]).map(([origin, hits]) => ({ origin, selfMs: hits * msPerHit, share: share(hits) })),
  };
}
