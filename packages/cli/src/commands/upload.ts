import { parseArgs } from 'node:util';
import { Producer } from '@obsq/producer';
import { isSuccess, type Logger, type ProducerConfig } from '@obsq/shared';
import { parseObjectUrl } from '../obsUrl.js';
import { out, printRecord } from '../output.js';
import { showProgress } from '../progress.js';
import { withProducer } from '../withProducer.js';

/** `obsq upload <file|url> obs://bucket/key [--part-size 8MiB] [--content-type T] [--job-id ID] [--wait] [--json] [--timeout-ms N]` */
export async function uploadCommand(argv: string[], config: ProducerConfig, logger: Logger): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'part-size': { type: 'string' },
      'content-type': { type: 'string' },
      'job-id': { type: 'string' },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'timeout-ms': { type: 'string', default: '3600000' },
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
    if (!values.wait) {
      out(values.json ? JSON.stringify(enq) : enq.jobId);
      return 0;
    }
    if (!values.json) out(`${enq.jobId}: ${enq.parts} parts, ${enq.size} bytes, upload ${enq.uploadId}`);
    const stop = showProgress('upload', enq.size, async () => {
      const p = await producer.uploadProgress(enq.jobId);
      return p ? Math.round((p.done / Math.max(1, p.total)) * enq.size) : 0;
    });
    try {
      const rec = await producer.waitForResult(enq.jobId, { timeoutMs: Number(values['timeout-ms']) });
      stop(isSuccess(rec.result) ? enq.size : undefined);
      return printRecord(rec, values.json);
    } finally {
      stop();
    }
  });
}
