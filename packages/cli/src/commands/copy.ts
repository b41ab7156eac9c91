import { parseFlags } from '../flags.js';
import { ValidationError, type Logger, type ProducerConfig } from '@obsq/shared';
import { parseObjectUrl } from '../obsUrl.js';
import { printRecord } from '../output.js';
import { finishEnqueued, partsProgress, WAIT_FLAGS } from '../waitFlags.js';
import { withProducer } from '../withProducer.js';

/** `obsq copy obs://src/key obs://dst/key [--replace-metadata k=v ...] [--content-type T] [--version-id V] [--if-match E] [--part-size S] [--wait] [--json]` */
export async function copyCommand(argv: string[], config: ProducerConfig, logger: Logger): Promise<number> {
  const { values, positionals } = parseFlags({
    args: argv,
    allowPositionals: true,
    options: {
      'replace-metadata': { type: 'string', multiple: true },
      'content-type': { type: 'string' },
      'version-id': { type: 'string' },
      'if-match': { type: 'string' },
      'part-size': { type: 'string' },
      ...WAIT_FLAGS,
    },
  });
  const [from, to] = positionals;
  if (!from || !to || positionals.length !== 2) {
    process.stderr.write('usage: obsq copy obs://src-bucket/key obs://dst-bucket/key [--replace-metadata k=v ...] [--wait] [--json]\n');
    return 2;
  }
  const source = parseObjectUrl(from, 'source');
  const target = parseObjectUrl(to, 'target');
  const pairs = values['replace-metadata'] ?? [];
  const metadata: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ValidationError([{ field: '--replace-metadata', rule: `must be key=value (got ${JSON.stringify(pair)})` }]);
    metadata[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const replace = pairs.length > 0 || values['content-type'] !== undefined;
  return withProducer(config, logger, async (producer) => {
    const enq = await producer.enqueueCopy({
      source: { ...source, versionId: values['version-id'] },
      target,
      metadataDirective: replace ? 'REPLACE' : 'COPY',
      metadata: replace ? metadata : undefined,
      contentType: values['content-type'],
      ifMatch: values['if-match'],
      partSize: values['part-size'],
      jobId: values['job-id'],
    });
    for (const note of enq.notes ?? []) process.stderr.write(`obsq copy: warning: ${note.replace(/^partSize/, '--part-size')}\n`);
    return finishEnqueued({
      producer,
      enqueued: enq,
      values,
      summary: `${enq.jobId}: ${enq.path} copy of ${enq.size} bytes${enq.path === 'multipart' ? ` in ${enq.parts} parts` : ''}`,
      ...(enq.path === 'multipart' ? { progress: { label: 'copy', total: enq.size, read: partsProgress(producer, enq.jobId, enq.size) } } : {}),
      print: printRecord,
    });
  });
}
