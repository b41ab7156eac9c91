import type { ObsqStatus } from '@obsq/producer';
import type { Logger, ProducerConfig } from '@obsq/shared';
import { out } from '../output.js';
import { EXIT, parseFlags } from '../usage.js';
import { withProducer } from '../withProducer.js';

/** `obsq status --help`. */
export const STATUS_HELP = `usage: obsq status [--json]

Per queue: waiting, active, delayed, failed and completed jobs, the age of the oldest waiting job and
the workers connected; failures of the last hour by error code; open batches.

  --json   one JSON object (ObsqStatus) instead of the table

Example:
  obsq status
  obsq status --json | jq '.queues[] | select(.counts.failed > 0)'

Exit codes: 0 read, 1 Redis unreachable, 2 bad flags or configuration.
`;

/** Formats ms as a short age (`45s`, `12m`, `3h`, `2d`). */
export function formatAge(ms: number | null): string {
  if (ms === null) return '-';
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
}

/** Human rendering of {@link ObsqStatus}. */
export function renderStatus(s: ObsqStatus): string[] {
  const lines = table([
    ['QUEUE', 'WAITING', 'ACTIVE', 'DELAYED', 'CHILDREN', 'FAILED', 'COMPLETED', 'OLDEST-WAITING', 'WORKERS'],
    ...s.queues.map((q) => [
      q.queue,
      String(q.counts.waiting + q.counts.prioritized),
      String(q.counts.active),
      String(q.counts.delayed),
      String(q.counts['waiting-children']),
      String(q.counts.failed),
      String(q.counts.completed),
      formatAge(q.oldestWaitingAgeMs),
      String(q.workers),
    ]),
  ]);
  lines.push('', `failures in the last ${formatAge(s.failureWindowMs)}:`);
  if (s.failures.length === 0) lines.push('  none');
  for (const f of s.failures) lines.push(`  ${f.queue}  ${f.errorCode}  ${f.count}`);
  lines.push('', 'open batches:');
  if (s.openBatches.length === 0) lines.push('  none');
  for (const b of s.openBatches) lines.push(`  ${b.batchId}  ${b.finished}/${b.total} finished, ${b.failed} failed`);
  return lines;
}

/** `obsq status [--json]`. */
export async function statusCommand(argv: string[], config: ProducerConfig, logger: Logger): Promise<number> {
  const { values } = parseFlags({ args: argv, options: { json: { type: 'boolean', default: false } } });
  return withProducer(config, logger, async (producer) => {
    const s = await producer.status();
    if (values.json) out(JSON.stringify(s));
    else for (const l of renderStatus(s)) out(l);
    return EXIT.ok;
  });
}
