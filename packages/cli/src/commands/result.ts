import { parseFlags } from '../flags.js';
import type { Logger, ProducerConfig } from '@obsq/shared';
import { printRecord } from '../output.js';
import { withProducer } from '../withProducer.js';

/** `obsq result <jobId> [--json] [--wait] [--timeout-ms N]`: exit 0 success, 1 failure, 3 not finished. */
export async function resultCommand(argv: string[], config: ProducerConfig, logger: Logger): Promise<number> {
  const { values, positionals } = parseFlags({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, wait: { type: 'boolean', default: false }, 'timeout-ms': { type: 'string', default: '600000' } },
  });
  const [jobId] = positionals;
  if (!jobId) {
    process.stderr.write('usage: obsq result <jobId> [--json] [--wait]\n');
    return 2;
  }
  return withProducer(config, logger, async (producer) => {
    const rec = values.wait ? await producer.waitForResult(jobId, { timeoutMs: Number(values['timeout-ms']) }) : await producer.getResult(jobId);
    if (!rec) {
      process.stderr.write(`job ${jobId} has no record yet (still running, unknown, or expired)\n`);
      return 3;
    }
    return printRecord(rec, values.json);
  });
}
