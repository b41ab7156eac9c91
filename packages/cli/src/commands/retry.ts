import { QUEUE_NAMES, ValidationError, type JobName, type Logger, type ProducerConfig } from '@obsq/shared';
import { out } from '../output.js';
import { durationFlag, EXIT, parseFlags, UsageError } from '../usage.js';
import { withProducer } from '../withProducer.js';

/** `obsq retry --help`. */
export const RETRY_HELP = `usage:
  obsq retry <jobId>... [--json]
  obsq retry --failed [--queue Q] [--since 1h] [--json]

Runs failed jobs again with their original payload, each as a new job <jobId>-retry-N (the failed
job and its record stay). A failed upload (or one of its parts) is retried as a whole upload: a new
multipart upload from the same source. Retrying a job twice reports the first retry.
--failed retries every failed job (of one queue, failed within --since), except cancelled ones
and those already retried.

Example:
  obsq retry 3f0c2a9e
  obsq retry --failed --queue complete-multipart --since 1h

Exit codes: 0 all retried, 1 a job could not be retried (not failed), 2 bad flags or
configuration, 3 no such job.
`;

/** `obsq retry <jobId>… | --failed [--queue Q] [--since 1h]`. */
export async function retryCommand(argv: string[], config: ProducerConfig, logger: Logger): Promise<number> {
  const { values, positionals } = parseFlags({
    args: argv,
    allowPositionals: true,
    options: { failed: { type: 'boolean', default: false }, queue: { type: 'string' }, since: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (values.failed && positionals.length > 0) throw new UsageError('give job ids or --failed, not both');
  if (!values.failed && positionals.length === 0) throw new UsageError('retry needs job ids or --failed');
  if (!values.failed && (values.queue !== undefined || values.since !== undefined)) throw new UsageError('--queue and --since go with --failed');
  if (values.queue !== undefined && !(QUEUE_NAMES as readonly string[]).includes(values.queue)) {
    throw new UsageError(`--queue must be one of ${QUEUE_NAMES.join(', ')} (got ${JSON.stringify(values.queue)})`);
  }
  const sinceMs = values.since === undefined ? undefined : durationFlag(values.since, 'since');
  return withProducer(config, logger, async (producer) => {
    if (values.failed) {
      const r = await producer.retryFailed({ ...(values.queue ? { queue: values.queue as JobName } : {}), ...(sinceMs === undefined ? {} : { sinceMs }) });
      if (values.json) out(JSON.stringify(r));
      else {
        for (const x of r.retried) out(`${x.jobId} -> ${x.retriedAs}`);
        for (const s of r.skipped) out(`${s.jobId} skipped: ${s.reason}`);
        out(`${r.retried.length} retried, ${r.skipped.length} skipped`);
      }
      return EXIT.ok;
    }
    let code: number = EXIT.ok;
    const results = [];
    for (const id of positionals) {
      try {
        const r = await producer.retry(id);
        if (!r) {
          process.stderr.write(`obsq retry: no job ${JSON.stringify(id)} in any queue (unknown, or removed after retention)\n`);
          code = EXIT.notFound;
          continue;
        }
        results.push(r);
        if (!values.json) out(`${r.jobId} -> ${r.retriedAs}${r.already ? ' (retried before)' : ''}`);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        process.stderr.write(`obsq retry: ${id}: ${err.issues.map((i) => i.rule).join('; ')}\n`);
        if (code === EXIT.ok) code = EXIT.failed;
      }
    }
    if (values.json) out(JSON.stringify(results));
    return code;
  });
}
