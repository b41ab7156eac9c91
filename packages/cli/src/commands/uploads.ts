import type { Logger, ProducerConfig } from '@obsq/shared';
import { parseObjectUrl } from '../obsUrl.js';
import { out } from '../output.js';
import { durationFlag, EXIT, parseFlags, UsageError } from '../usage.js';
import { withProducer } from '../withProducer.js';
import { formatAge } from './status.js';

/** `obsq uploads --help`. */
export const UPLOADS_HELP = `usage:
  obsq uploads list  obs://bucket[/prefix] [--older-than 24h] [--json]
  obsq uploads abort obs://bucket[/prefix] [--older-than 24h] [--json]

Multipart uploads left open on the server cost storage until aborted (a worker with a wrong
secret cannot abort its own upload; a failed abort is left to an operator).
list:  the open uploads under the prefix (only those at least --older-than old, when given).
abort: aborts the open uploads at least --older-than old (default 24h; running uploads are
       younger). To do this regularly: obsq schedule abort-stale-uploads.

Example:
  obsq uploads list obs://ingest/videos/
  obsq uploads abort obs://ingest/ --older-than 48h

Exit codes: 0 listed or all aborted, 1 an abort or the listing failed, 2 bad flags or
configuration.
`;

/** `obsq uploads list|abort obs://bucket[/prefix] [--older-than 24h] [--json]`. */
export async function uploadsCommand(argv: string[], config: ProducerConfig, logger: Logger): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'list' && sub !== 'abort') {
    throw new UsageError(sub === undefined ? 'uploads needs a subcommand: list or abort' : `unknown uploads subcommand ${JSON.stringify(sub)} (list or abort)`);
  }
  const { values, positionals } = parseFlags({
    args: rest,
    allowPositionals: true,
    options: { 'older-than': { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new UsageError(`uploads ${sub} takes one obs://bucket[/prefix]`);
  const where = parseObjectUrl(positionals[0]!, 'location', { allowPrefix: true });
  const olderThanMs = durationFlag(values['older-than'] ?? (sub === 'abort' ? '24h' : '0s'), 'older-than');
  const p = { bucket: where.bucket, prefix: where.key, olderThanMs };
  return withProducer(config, logger, async (producer) => {
    if (sub === 'list') {
      const scan = await producer.listOpenUploads(p);
      if (values.json) out(JSON.stringify(scan));
      else {
        for (const u of scan.stale) out(`${u.key}  ${u.uploadId}  initiated ${u.initiated} (${formatAge(u.ageMs)} ago)`);
        out(`${scan.stale.length} of ${scan.open} open uploads${olderThanMs > 0 ? ` are older than ${formatAge(olderThanMs)}` : ''}`);
      }
      return EXIT.ok;
    }
    const { scan, outcomes } = await producer.abortStaleUploads(p);
    const failed = outcomes.filter((o) => o.outcome === 'failed');
    if (values.json) out(JSON.stringify({ open: scan.open, stale: scan.stale.length, outcomes }));
    else {
      for (const o of outcomes) out(`${o.key}  ${o.uploadId}  ${o.outcome}${o.errorCode ? ` (${o.errorCode})` : ''}`);
      out(`${outcomes.filter((o) => o.outcome === 'aborted').length} aborted, ${outcomes.filter((o) => o.outcome === 'gone').length} gone, ${failed.length} failed, of ${scan.open} open`);
    }
    for (const f of failed) process.stderr.write(`obsq uploads abort: ${f.key} ${f.uploadId}: ${f.errorCode}\n`);
    return failed.length > 0 ? EXIT.failed : EXIT.ok;
  });
}
