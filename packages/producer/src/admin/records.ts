import type { StoredResult } from '@obsq/shared';
import type { AdminDeps } from './adminDeps.js';

/** Options of {@link recentRecords}. */
export interface RecentRecordsOptions {
  /** Most records returned, newest first. @defaultValue 100 */
  limit?: number;
  /** Only failures (status 0 or ≥ 300). @defaultValue false */
  failedOnly?: boolean;
  /** Only records of this queue. */
  queue?: string;
}

/** The newest records from the results stream (what the UI's records page shows). */
export async function recentRecords(deps: Pick<AdminDeps, 'redis' | 'results'>, opts: RecentRecordsOptions = {}): Promise<StoredResult[]> {
  const limit = Math.min(Math.max(1, opts.limit ?? 100), 1000);
  const out: StoredResult[] = [];
  let end = '+';
  // Reads pages backwards until enough records match; a filter over a long stream stops after 20 pages.
  for (let page = 0; page < 20 && out.length < limit; page++) {
    const entries = await deps.redis.xrevrange(deps.results.streamKey, end, '-', 'COUNT', 500);
    for (const [, fields] of entries) {
      const idx = fields.indexOf('record');
      if (idx < 0 || idx + 1 >= fields.length) continue;
      const rec = JSON.parse(fields[idx + 1]!) as StoredResult;
      const failed = !(rec.result.status >= 200 && rec.result.status < 300);
      if (opts.failedOnly && !failed) continue;
      if (opts.queue && rec.queue !== opts.queue) continue;
      out.push(rec);
      if (out.length >= limit) break;
    }
    if (entries.length < 500) break;
    end = `(${entries[entries.length - 1]![0]}`;
  }
  return out;
}
