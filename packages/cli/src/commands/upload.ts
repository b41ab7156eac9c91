import { parseFlags } from '../flags.js';
import { Producer } from '@obsq/producer';
import type { Logger, ProducerConfig } from '@obsq/shared';
import { parseObjectUrl } from '../obsUrl.js';
import { printRecord } from '../output.js';
import { finishEnqueued, partsProgress, WAIT_FLAGS } from '../waitFlags.js';
import { withProducer } from '../withProducer.js';

/** `obsq upload <file|url> obs://bucket/key [--part-size 8MiB] [--content-type T] [--job-id ID] [--wait] [--json] [--timeout-ms N]` */
export async function uploadCommand(argv: string[], config: ProducerConfig, logger: Logger): Promise<number> {
  const { values, positionals } = parseFlags({
    args: argv,
    allowPositionals: true,
    options: {
      'part-size': { type: 'string' },
      'content-type': { type: 'string' },
      ...WAIT_FLAGS,
    },
  });
  const [from, to] = positionals;
  if (!from || !to || positionals.length !== 2) {
    process.stderr.write('usage: obsq upload <file|url> obs://bucket/key [--part-size 8MiB] [--wait] [--json]\n');
    return 2;
  }
  const target = parseObjectUrl(to, 'target');
  const source = /^https?:\/\//.test(from) ? { kind: 'url' as const, url: from } : { kind: 'file' as const, path: from };
  return withProducer(config, logger, async (producer: Producer) => {
    const enq = await producer.enqueueUpload({
      source,
      bucket: target.bucket,
      key: target.key,
      partSize: values['part-size'],
      contentType: values['content-type'],
      jobId: values['job-id'],
    });
    return finishEnqueued({
      producer,
      enqueued: enq,
      values,
      summary: `${enq.jobId}: ${enq.parts} parts, ${enq.size} bytes, upload ${enq.uploadId}`,
      progress: { label: 'upload', total: enq.size, read: partsProgress(producer, enq.jobId, enq.size) },
      print: printRecord,
    });
  });
}
