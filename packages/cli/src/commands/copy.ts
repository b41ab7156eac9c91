import { parseArgs } from 'node:util';
import { isSuccess, ValidationError, type Logger, type ProducerConfig } from '@obsq/shared';
import { parseObjectUrl } from '../obsUrl.js';
import { out, printRecord } from '../output.js';
import { showProgress } from '../progress.js';
import { withProducer } from '../withProducer.js';

/** `obsq copy obs://src/key obs://dst/key [--replace-metadata k=v ...] [--content-type T] [--version-id V] [--if-match E] [--part-size S] [--wait] [--json]` */
export async function copyCommand(argv: string[], config: ProducerConfig, logger: Logger): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'replace-metadata': { type: 'string', multiple: true },
      'content-type': { type: 'string' },
      'version-id': { type: 'string' },
      'if-match': { type: 'string' },
      'part-size': { type: 'string' },
      'job-id': { type: 'string' },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'timeout-ms': { type: 'string', default: '3600000' },
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
    if (!values.wait) {
      out(values.json ? JSON.stringify(enq) : enq.jobId);
      return 0;
    }
    if (!values.json) out(`${enq.jobId}: ${enq.path} copy of ${enq.size} bytes${enq.path === 'multipart' ? ` in ${enq.parts} parts` : ''}`);
    const stop =
      enq.path === 'multipart'
        ? showProgress('copy', enq.size, async () => {
            const p = await producer.uploadProgress(enq.jobId);
            return p ? Math.round((p.done / Math.max(1, p.total)) * enq.size) : 0;
          })
        : (_final?: number) => undefined;
    try {
      const rec = await producer.waitForResult(enq.jobId, { timeoutMs: Number(values['timeout-ms']) });
      stop(isSuccess(rec.result) ? enq.size : undefined);
      return printRecord(rec, values.json);
    } finally {
      stop();
    }
  });
}
