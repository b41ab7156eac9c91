import { stat } from 'node:fs/promises';
import { openManifest, type Producer, type SkipExisting } from '@obsq/producer';
import { ValidationError, type Logger, type ProducerConfig } from '@obsq/shared';
import { parseFlags } from '../flags.js';
import { parseObjectUrl } from '../obsUrl.js';
import { out, printRecord } from '../output.js';
import { finishEnqueued, partsProgress, WAIT_FLAGS } from '../waitFlags.js';
import { withProducer } from '../withProducer.js';
import { waitAndPrintBatch } from './batch.js';

export const UPLOAD_USAGE = `usage: obsq upload <dir|file|url>... obs://bucket/prefix/ [options]
       obsq upload <file|url> obs://bucket/key [--part-size 8MiB] [--wait] [--json]

A single file or URL to a key that does not end in "/" is one upload (job id printed). Anything else
is a batch: directories are walked recursively (key = prefix + relative path), files and URLs keep
their names, manifest lines name their own keys (below the prefix).

options:
  --manifest FILE|-              JSON Lines {"source","key","contentType"?,"metadata"?} or CSV source,key
  --include GLOB, --exclude GLOB rclone-style filters on the path below the prefix (repeatable)
  --skip-existing none|size|checksum   skip files already stored with the same size (or MD5)
  --part-size SIZE               part size of multipart files (default 8MiB)
  --multipart-threshold SIZE     files up to this size go in one PutObject (default: the part size)
  --batch-id ID                  choose the batch id; the same id again adds nothing twice
  --max-pending N                most files queued and not finished at once (default 10000)
  --content-type T, --metadata k=v (repeatable)
  --wait                         one progress bar for the batch, then print the batch record
  --json                         print the record (or the enqueue answer) as one JSON line
  --timeout-ms N                 longest wait with --wait

example: obsq upload ./photos obs://archive/2026-12-01/ --exclude '*.tmp' --skip-existing size --wait
exit codes: 0 success (with --wait: every file stored), 1 a file failed or an error, 2 bad usage
`;

function metadataOf(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i < 1) throw new ValidationError([{ field: '--metadata', rule: `must be name=value (got ${JSON.stringify(p)})` }]);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

/** `obsq upload`: one file or URL, or a batch of directories, files, URLs and manifests. */
export async function uploadCommand(argv: string[], config: ProducerConfig, logger: Logger): Promise<number> {
  const { values, positionals } = parseFlags({
    args: argv,
    allowPositionals: true,
    options: {
      'part-size': { type: 'string' },
      'multipart-threshold': { type: 'string' },
      'content-type': { type: 'string' },
      metadata: { type: 'string', multiple: true },
      manifest: { type: 'string' },
      include: { type: 'string', multiple: true },
      exclude: { type: 'string', multiple: true },
      'skip-existing': { type: 'string', default: 'none' },
      'batch-id': { type: 'string' },
      'max-pending': { type: 'string' },
      help: { type: 'boolean', default: false },
      ...WAIT_FLAGS,
    },
  });
  if (values.help) {
    out(UPLOAD_USAGE);
    return 0;
  }
  const to = positionals[positionals.length - 1];
  const sources = positionals.slice(0, -1);
  if (!to || (sources.length === 0 && !values.manifest)) {
    process.stderr.write(UPLOAD_USAGE);
    return 2;
  }
  const target = parseObjectUrl(to, 'target', { allowPrefix: true });
  // parseFlags checked a given --timeout-ms; the default is WAIT_FLAGS'.
  const timeoutMs = Number(values['timeout-ms']);
  const skip = values['skip-existing'];
  if (!['none', 'size', 'checksum'].includes(skip)) throw new ValidationError([{ field: '--skip-existing', rule: `must be none, size or checksum (got ${JSON.stringify(skip)})` }]);
  const maxPending = values['max-pending'] === undefined ? undefined : Number(values['max-pending']);
  if (maxPending !== undefined && (!Number.isSafeInteger(maxPending) || maxPending < 1)) {
    throw new ValidationError([{ field: '--max-pending', rule: `must be a positive whole number (got ${JSON.stringify(values['max-pending'])})` }]);
  }
  const metadata = metadataOf(values.metadata);

  const lone = sources.length === 1 ? sources[0]! : undefined;
  const loneIsFileOrUrl = lone !== undefined && (/^https?:\/\//i.test(lone) || (await stat(lone).then((s) => !s.isDirectory(), () => true)));
  const single = loneIsFileOrUrl && !values.manifest && target.key !== '' && !target.key.endsWith('/');
  if (single) {
    for (const flag of ['include', 'exclude', 'batch-id', 'max-pending', 'multipart-threshold'] as const) {
      if (values[flag] !== undefined) throw new ValidationError([{ field: `--${flag}`, rule: 'applies to batches only (a directory, several sources, a manifest, or a target ending in "/")' }]);
    }
    if (skip !== 'none') throw new ValidationError([{ field: '--skip-existing', rule: 'applies to batches only (end the target with "/" to upload into a prefix)' }]);
    const source = /^https?:\/\//i.test(lone!) ? { kind: 'url' as const, url: lone! } : { kind: 'file' as const, path: lone! };
    return withProducer(config, logger, async (producer: Producer) => {
      const enq = await producer.enqueueUpload({
        source,
        bucket: target.bucket,
        key: target.key,
        partSize: values['part-size'],
        contentType: values['content-type'],
        metadata,
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
  if (values['job-id'] !== undefined) throw new ValidationError([{ field: '--job-id', rule: 'applies to a single upload; name a batch with --batch-id' }]);
  const prefix = target.key === '' || target.key.endsWith('/') ? target.key : `${target.key}/`;
  return withProducer(config, logger, async (producer: Producer) => {
    const enqueue = producer.enqueueBatch({
      bucket: target.bucket,
      prefix,
      sources,
      ...(values.manifest !== undefined ? { manifest: openManifest(values.manifest) } : {}),
      include: values.include ?? [],
      exclude: values.exclude ?? [],
      skipExisting: skip as SkipExisting,
      partSize: values['part-size'],
      multipartThreshold: values['multipart-threshold'],
      batchId: values['batch-id'],
      maxPending,
      contentType: values['content-type'],
      metadata,
    });
    if (!values.wait) {
      const enq = await enqueue;
      out(values.json ? JSON.stringify({ ...enq, record: enq.record?.result }) : enq.batchId);
      return 0;
    }
    const enq = await enqueue;
    if (!values.json) out(`batch ${enq.batchId}: ${enq.enqueued} files enqueued (${enq.bytes} bytes), ${enq.skipped} skipped, ${enq.refused} refused`);
    return waitAndPrintBatch(producer, enq.batchId, values.json, timeoutMs);
  });
}
