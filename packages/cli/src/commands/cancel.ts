import { ValidationError, type Logger, type ProducerConfig } from '@obsq/shared';
import { out } from '../output.js';
import { EXIT, parseFlags, UsageError } from '../usage.js';
import { withProducer } from '../withProducer.js';

/** `obsq cancel --help`. */
export const CANCEL_HELP = `usage: obsq cancel <jobId|batchId> [--reason TEXT] [--json]

Cancels an upload, copy, transcription or schedule run that has not finished: its waiting parts are
removed, running attempts stop at their next check (within about a second), the multipart upload is
aborted, and the job's record is written with errorCode OBSQ_CANCELLED. A part's id cancels its
whole upload. A batch id cancels every unfinished member (once batches exist).

Example:
  obsq cancel 3f0c2a9e --reason "wrong bucket"

Exit codes: 0 cancelled, 1 already finished (nothing to cancel) or the multipart upload could not be
aborted (cancelled anyway; abort it with obsq uploads abort), 2 bad flags or configuration,
3 no such job or batch.
`;

/** `obsq cancel <jobId|batchId>`. */
export async function cancelCommand(argv: string[], config: ProducerConfig, logger: Logger): Promise<number> {
  const { values, positionals } = parseFlags({
    args: argv,
    allowPositionals: true,
    options: { reason: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new UsageError('cancel takes one job or batch id');
  const id = positionals[0]!;
  return withProducer(config, logger, async (producer) => {
    let r;
    try {
      r = await producer.cancel(id, values.reason === undefined ? undefined : `cancelled by an operator: ${values.reason}`);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      process.stderr.write(`obsq cancel: ${id}: ${err.issues.map((i) => i.rule).join('; ')}\n`);
      return EXIT.failed;
    }
    if (!r) {
      process.stderr.write(`obsq cancel: no job or batch ${JSON.stringify(id)} (unknown, or removed after retention)\n`);
      return EXIT.notFound;
    }
    if (values.json) out(JSON.stringify(r));
    else if (r.kind === 'batch') out(`batch ${r.jobId} cancelled: ${r.members?.length ?? 0} members`);
    else {
      const parts = r.queue === 'complete-multipart' ? `, ${r.removedParts} waiting parts removed, ${r.stopping} running parts stopping` : r.removed ? ', removed from its queue' : r.stopping ? ', stopping at its next check' : '';
      out(`${r.jobId} (${r.queue}) cancelled${parts}${r.upload ? `; ${r.upload}` : ''}`);
    }
    if (r.uploadAborted === false) {
      process.stderr.write(`obsq cancel: ${r.upload}\n`);
      return EXIT.failed;
    }
    return EXIT.ok;
  });
}
