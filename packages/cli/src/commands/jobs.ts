import { checkQueueAndState, type JobSummary } from '@obsq/producer';
import { ValidationError, type Logger, type ProducerConfig } from '@obsq/shared';
import { out } from '../output.js';
import { EXIT, parseFlags, UsageError } from '../usage.js';
import { withProducer } from '../withProducer.js';
import { formatAge } from './status.js';

/** `obsq jobs --help`. */
export const JOBS_HELP = `usage:
  obsq jobs list [--queue Q] [--state failed|active|waiting|delayed|completed|prioritized|waiting-children] [--limit N] [--json]
  obsq jobs show <jobId> [--json]

list: jobs newest first (default: every queue and state, 50 jobs).
show: one job with its payload (URL signatures and user:password blanked), attempts, children and
      GetResult record.

Example:
  obsq jobs list --state failed --queue complete-multipart --limit 20
  obsq jobs show 3f0c2a9e-part-4 --json

Exit codes: 0 listed or shown, 1 Redis unreachable, 2 bad flags or configuration, 3 no such job.
`;

function line(j: JobSummary, now: number): string {
  const attempts = `${j.attemptsMade}/${j.attempts}`;
  const reason = j.failedReason ? `  ${j.failedReason.slice(0, 120)}` : '';
  return `${j.id}  ${j.queue}  ${j.state}  attempts ${attempts}  ${formatAge(now - j.createdAt)} ago${j.parentId ? `  parent ${j.parentId}` : ''}${reason}`;
}

/** `obsq jobs list|show`. */
export async function jobsCommand(argv: string[], config: ProducerConfig, logger: Logger): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') {
    const { values, positionals } = parseFlags({
      args: rest,
      allowPositionals: true,
      options: { queue: { type: 'string' }, state: { type: 'string' }, limit: { type: 'string', default: '50' }, json: { type: 'boolean', default: false } },
    });
    if (positionals.length > 0) throw new UsageError(`jobs list takes no arguments (got ${JSON.stringify(positionals[0])})`);
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError(`--limit must be an integer from 1 to 10000 (got ${JSON.stringify(values.limit)})`);
    let filter;
    try {
      filter = checkQueueAndState(values.queue, values.state);
    } catch (err) {
      throw new UsageError(err instanceof ValidationError ? err.issues.map((i) => `--${i.field} ${i.rule}`).join('; ') : String(err));
    }
    return withProducer(config, logger, async (producer) => {
      const jobs = await producer.listJobs({ ...filter, limit });
      if (values.json) out(JSON.stringify(jobs));
      else if (jobs.length === 0) out('no jobs');
      else for (const j of jobs) out(line(j, Date.now()));
      return EXIT.ok;
    });
  }
  if (sub === 'show') {
    const { values, positionals } = parseFlags({ args: rest, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
    if (positionals.length !== 1) throw new UsageError('jobs show takes one job id');
    const jobId = positionals[0]!;
    return withProducer(config, logger, async (producer) => {
      const job = await producer.showJob(jobId);
      if (!job) {
        process.stderr.write(`obsq jobs show: no job ${JSON.stringify(jobId)} in any queue and no record (unknown, or removed after retention)\n`);
        return EXIT.notFound;
      }
      out(values.json ? JSON.stringify(job) : JSON.stringify(job, null, 2));
      return EXIT.ok;
    });
  }
  throw new UsageError(sub === undefined ? 'jobs needs a subcommand: list or show' : `unknown jobs subcommand ${JSON.stringify(sub)} (list or show)`);
}
