import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlowJob, FlowProducer, Queue } from 'bullmq';
import {
  batchIdIssues,
  batchFileJobId,
  bucketNameIssues,
  metadataIssues,
  ObsqError,
  objectKeyIssues,
  parsePayload,
  parseSize,
  planParts,
  PUT_OBJECT_MAX_BYTES,
  ValidationError,
  type BatchRecordBody,
  type BatchStore,
  type FilePin,
  type StoredResult,
  type UrlClient,
  type ValidationIssue,
} from '@obsq/shared';
import type { ObsClient } from '@obsq/storage';
import type { Logger } from 'pino';
import { jobOptions } from '../jobOptions.js';
import { probeSource } from '../sources/probeSource.js';
import { argumentItem, readManifest, walkDirectory, type BatchEntry, type BatchItem } from './batchItems.js';
import { PathFilter } from './globFilter.js';
import type { Readable } from 'node:stream';

/** How `--skip-existing` compares a file with what is already stored under its key. */
export type SkipExisting = 'none' | 'size' | 'checksum';

/** Input of `enqueueBatch`. */
export interface EnqueueBatchInput {
  bucket: string;
  /** Key prefix every item's key goes below ('' for the bucket root; usually ends in `/`). */
  prefix: string;
  /** Directories (walked recursively), files and http(s) URLs. */
  sources?: readonly string[];
  /** Items with their full object keys (used by `retryBatch`). */
  items?: Iterable<{ source: string; key: string }>;
  /** A manifest: JSON Lines or CSV, read as a stream; relative paths resolve against `baseDir`. */
  manifest?: { stream: Readable; baseDir: string };
  /** rclone-style globs on the path below the prefix. */
  include?: readonly string[];
  exclude?: readonly string[];
  /** @defaultValue 'none' */
  skipExisting?: SkipExisting;
  /** Part size of multipart files (bytes or `8MiB`). @defaultValue 8 MiB */
  partSize?: number | string;
  /** Files at or below this size go in one PutObject. @defaultValue the part size */
  multipartThreshold?: number | string;
  /** Batch id; the same id re-submitted enqueues nothing already enqueued. @defaultValue a new id */
  batchId?: string;
  /** Most files enqueued and not finished at once; the producer waits below it. @defaultValue 10000 */
  maxPending?: number;
  /** Longest wait for a pending file to finish while at `maxPending`, in ms. @defaultValue 600000 */
  stallTimeoutMs?: number;
  contentType?: string;
  metadata?: Record<string, string>;
  /** Called after every chunk with running totals. */
  onProgress?: (p: BatchEnqueueProgress) => void;
}

/** Running totals of an enqueue. */
export interface BatchEnqueueProgress {
  enqueued: number;
  skipped: number;
  refused: number;
  bytes: number;
}

/** What `enqueueBatch` returns. */
export interface EnqueuedBatch extends BatchEnqueueProgress {
  batchId: string;
  /** False when the batch id existed (a re-submission: only new items were added). */
  created: boolean;
  /** The batch record when the batch was already complete (re-submission) or completed at seal. */
  record?: StoredResult<BatchRecordBody>;
}

/** Dependencies of {@link enqueueBatch}, owned by the Producer. */
export interface BatchDeps {
  flows: FlowProducer;
  putQueue: Queue;
  storage: ObsClient;
  batches: BatchStore;
  /** URL policy client for probing URL sources. */
  urls: UrlClient;
  minPartSize: number;
  retentionSeconds: number;
  logger: Logger;
  newBatchId: () => string;
}

const CHUNK = 256;
const DEFAULT_PART = 8 * 1024 * 1024;
/** Metadata name under which a checksum-mode upload stores the whole file's MD5 (multipart ETags are not MD5s). */
export const MD5_METADATA = 'obsq-md5';

interface Existing {
  size: number;
  etag: string;
}

async function md5OfFile(path: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('md5');
  for await (const chunk of createReadStream(path, { signal, highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

function sizeOption(v: number | string | undefined, field: string, issues: ValidationIssue[]): number | undefined {
  if (v === undefined) return undefined;
  try {
    const n = typeof v === 'number' ? v : parseSize(v, field);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${field}: must be a non-negative whole number of bytes`);
    return n;
  } catch (err) {
    issues.push({ field, rule: (err as Error).message.replace(new RegExp(`^${field}: `), '') });
    return undefined;
  }
}

/**
 * Enqueues a batch: every item of the sources and the manifest becomes one `put-object` job (at
 * or below the multipart threshold) or one multipart flow whose parts initiate the upload on the
 * worker side, so enqueueing costs no HTTP round-trip per file (the bucket is checked once).
 * Redis writes go in bulk, a chunk at a time, and memory stays bounded by the chunk (plus the
 * listing of the prefix for `skipExisting`). Bad items are counted as failures of the batch, named
 * by line and field; the rest go on.
 */
export async function enqueueBatch(deps: BatchDeps, input: EnqueueBatchInput, signal?: AbortSignal): Promise<EnqueuedBatch> {
  const issues: ValidationIssue[] = [...bucketNameIssues(input.bucket, 'bucket')];
  if (typeof input.prefix !== 'string') issues.push({ field: 'prefix', rule: 'must be a string' });
  else if (input.prefix !== '') issues.push(...objectKeyIssues(input.prefix, 'prefix'));
  const batchId = input.batchId ?? deps.newBatchId();
  issues.push(...batchIdIssues(batchId));
  const partSize = sizeOption(input.partSize, 'partSize', issues) ?? DEFAULT_PART;
  const threshold = sizeOption(input.multipartThreshold, 'multipartThreshold', issues) ?? partSize;
  if (threshold > PUT_OBJECT_MAX_BYTES) issues.push({ field: 'multipartThreshold', rule: `must be at most ${PUT_OBJECT_MAX_BYTES} bytes (the PutObject limit)` });
  const skipExisting = input.skipExisting ?? 'none';
  if (!['none', 'size', 'checksum'].includes(skipExisting)) issues.push({ field: 'skipExisting', rule: 'must be none, size or checksum' });
  const maxPending = input.maxPending ?? 10_000;
  if (!Number.isSafeInteger(maxPending) || maxPending < 1) issues.push({ field: 'maxPending', rule: 'must be a positive whole number' });
  if (input.metadata !== undefined) issues.push(...metadataIssues(input.metadata, 'metadata'));
  if (!input.sources?.length && !input.manifest && !input.items) issues.push({ field: 'sources', rule: 'name at least one directory, file or URL, or a manifest' });
  let filter: PathFilter | undefined;
  try {
    filter = new PathFilter(input.include ?? [], input.exclude ?? []);
  } catch (err) {
    if (err instanceof ValidationError) issues.push(...err.issues);
    else throw err;
  }
  if (issues.length > 0) throw new ValidationError(issues);

  const { batches, storage } = deps;
  const finished = await batches.status(batchId);
  if (finished?.record) return { batchId, created: false, enqueued: 0, skipped: 0, refused: 0, bytes: 0, record: finished.record };

  await storage.headBucket({ bucket: input.bucket, signal });
  const created = await batches.create(batchId, { bucket: input.bucket, prefix: input.prefix });

  let existing: Map<string, Existing> | undefined;
  if (skipExisting !== 'none') {
    existing = new Map();
    for await (const page of storage.listObjectPages({ bucket: input.bucket, prefix: input.prefix, pageSize: 1000, signal })) {
      for (const o of page) existing.set(o.key, { size: o.size, etag: o.etag.replace(/"/g, '').toLowerCase() });
    }
  }

  const totals: BatchEnqueueProgress = { enqueued: 0, skipped: 0, refused: 0, bytes: 0 };
  let symlinks = 0;
  const entries = async function* (): AsyncGenerator<BatchEntry> {
    for (const source of input.sources ?? []) {
      if (/^https?:\/\//i.test(source)) {
        yield argumentItem(source, input.prefix);
        continue;
      }
      const st = await stat(source).catch(() => undefined);
      if (st?.isDirectory()) yield* walkDirectory(source, input.prefix, new PathFilter(), () => symlinks++);
      else yield argumentItem(source, input.prefix);
    }
    for (const it of input.items ?? []) yield { kind: /^https?:\/\//i.test(it.source) ? 'url' : 'file', source: it.source, key: it.key };
    if (input.manifest) yield* readManifest(input.manifest.stream, input.prefix, input.manifest.baseDir);
  };

  const refuse = async (item: { key: string; source: string; line?: number }, code: string, message: string) => {
    totals.refused++;
    await batches.refuse(batchId, {
      key: item.key,
      source: item.source,
      jobId: '',
      errorCode: code,
      errorMessage: message,
      ...(item.line !== undefined ? { line: item.line } : {}),
    });
  };

  let waitedSince = Date.now();
  let lastDone = -1;
  const backPressure = async () => {
    for (;;) {
      const s = await batches.status(batchId);
      if (s?.cancelled) throw new ObsqError('OBSQ_CANCELLED', `batch ${batchId} was cancelled (obsq cancel): enqueueing stopped`, { permanent: true });
      if (!s || s.members - s.done < maxPending) return;
      if (s.done !== lastDone) {
        lastDone = s.done;
        waitedSince = Date.now();
      }
      if (Date.now() - waitedSince > (input.stallTimeoutMs ?? 600_000)) {
        throw new ObsqError('OBSQ_TIMEOUT', `batch ${batchId}: ${s.members - s.done} files pending and none finished for ${input.stallTimeoutMs ?? 600_000} ms (are workers running?)`);
      }
      signal?.throwIfAborted();
      await sleep(200, undefined, { signal });
    }
  };

  // Two phases per chunk: checking (stat, probes: the file system) and writing (Redis). The next
  // chunk is checked while the previous one is written; at most one write is in flight.
  let writing: Promise<void> = Promise.resolve();
  const flush = async (chunk: BatchItem[]) => {
    const checked = await Promise.all(chunk.map((item) => check(item)));
    await writing;
    writing = write(checked);
    // Surface a failed write at the next flush at the latest (awaited there and at the end).
    writing.catch(() => undefined);
  };
  const write = async (checked: Checked[]) => {
    // One read of the counters per chunk: stops when cancelled, waits while too much is pending.
    await backPressure();
    const puts: Array<{ name: string; data: unknown; opts: ReturnType<typeof jobOptions> }> = [];
    const flows: FlowJob[] = [];
    const members: Array<{ jobId: string; bytes: number }> = [];
    const skipped: string[] = [];
    for (const c of checked) {
      if (c.kind === 'refused') {
        await refuse(c.item, c.code, c.message);
        continue;
      }
      if (c.kind === 'skipped') {
        skipped.push(batchFileJobId(batchId, c.item.key));
        continue;
      }
      const { item, size, source, md5 } = c;
      const jobId = batchFileJobId(batchId, item.key);
      const contentType = item.contentType ?? input.contentType;
      const metadata = { ...(input.metadata ?? {}), ...(item.metadata ?? {}), ...(md5 ? { [MD5_METADATA]: md5 } : {}) };
      const hasMeta = Object.keys(metadata).length > 0;
      const batch = { id: batchId, item: item.source };
      try {
        if (size <= threshold) {
          const data = parsePayload('put-object', {
            bucket: input.bucket,
            key: item.key,
            source,
            size,
            ...(contentType !== undefined ? { contentType } : {}),
            ...(hasMeta ? { metadata } : {}),
            batch,
          });
          puts.push({ name: 'put-object', data, opts: jobOptions('put-object', jobId, deps.retentionSeconds) });
        } else {
          const plan = planParts({ size, partSize, minPartSize: deps.minPartSize });
          const initiate = { ...(contentType !== undefined ? { contentType } : {}), ...(hasMeta ? { metadata } : {}) };
          flows.push({
            name: 'complete-multipart',
            queueName: 'complete-multipart',
            data: parsePayload('complete-multipart', {
              kind: 'upload',
              bucket: input.bucket,
              key: item.key,
              totalParts: plan.partCount,
              size,
              ...(contentType !== undefined ? { contentType } : {}),
              // The parent re-checks the source against its pin before completing.
              uploadSource: source,
              batch,
            }),
            opts: jobOptions('complete-multipart', jobId, deps.retentionSeconds),
            children: plan.parts.map((p) => ({
              name: 'upload-part',
              queueName: 'upload-part',
              data: parsePayload('upload-part', {
                initiate,
                bucket: input.bucket,
                key: item.key,
                partNumber: p.partNumber,
                offset: p.offset,
                size: p.size,
                totalParts: plan.partCount,
                source,
              }),
              opts: { ...jobOptions('upload-part', `${jobId}-part-${p.partNumber}`, deps.retentionSeconds), continueParentOnFailure: true },
            })),
          });
        }
      } catch (err) {
        const e = err as ObsqError;
        await refuse(item, e.code ?? 'OBSQ_VALIDATION', e.message);
        continue;
      }
      members.push({ jobId, bytes: size });
    }
    // Jobs first, membership after: a crash in between re-registers the (idempotent) jobs on the
    // next submission instead of counting members that were never enqueued.
    if (puts.length > 0) await deps.putQueue.addBulk(puts as Parameters<Queue['addBulk']>[0]);
    if (flows.length > 0) await deps.flows.addBulk(flows);
    totals.enqueued += await batches.addMembers(batchId, members);
    totals.skipped += await batches.skip(batchId, skipped);
    totals.bytes += members.reduce((n, m) => n + m.bytes, 0);
    input.onProgress?.({ ...totals });
  };

  type Checked =
    | { kind: 'ok'; item: BatchItem; size: number; source: { kind: 'file'; path: string; pin: FilePin } | { kind: 'url'; url: string; size: number; etag?: string; lastModified?: string }; md5?: string }
    | { kind: 'skipped'; item: BatchItem }
    | { kind: 'refused'; item: BatchItem; code: string; message: string };

  const check = async (item: BatchItem): Promise<Checked> => {
    const keyIssues = objectKeyIssues(item.key, 'key');
    if (item.metadata) keyIssues.push(...metadataIssues(item.metadata, 'metadata'));
    if (keyIssues.length > 0) return { kind: 'refused', item, code: 'OBSQ_VALIDATION', message: keyIssues.map((i) => `${i.field}: ${i.rule}`).join('; ') };
    let size: number;
    let source: Extract<Checked, { kind: 'ok' }>['source'];
    try {
      const probed = await probeSource(item.kind === 'file' ? { kind: 'file', path: item.source } : { kind: 'url', url: item.source }, deps.urls, signal);
      size = probed.size;
      source = probed.kind === 'file' ? { kind: 'file', path: probed.path, pin: probed.pin } : probed;
    } catch (err) {
      const e = err as ObsqError;
      return { kind: 'refused', item, code: e.code ?? 'OBSQ_SOURCE', message: e.message };
    }
    let md5: string | undefined;
    const have = existing?.get(item.key);
    if (skipExisting === 'checksum' && source.kind === 'file') md5 = await md5OfFile(source.path, signal);
    if (have && have.size === size) {
      if (skipExisting === 'size') return { kind: 'skipped', item };
      if (skipExisting === 'checksum') {
        if (md5 === undefined) return { kind: 'skipped', item }; // URL: size and the origin's validator are all we have
        if (!have.etag.includes('-') && have.etag === md5) return { kind: 'skipped', item };
        if (have.etag.includes('-')) {
          const head = await storage.headObject({ bucket: input.bucket, key: item.key, signal }).catch(() => undefined);
          if (head?.body?.metadata?.[MD5_METADATA] === md5) return { kind: 'skipped', item };
        }
      }
    }
    return { kind: 'ok', item, size, source, ...(md5 ? { md5 } : {}) };
  };

  let chunk: BatchItem[] = [];
  for await (const entry of entries()) {
    signal?.throwIfAborted();
    if ('problem' in entry) {
      const p = entry.problem;
      await refuse(p, 'OBSQ_VALIDATION', `${p.line !== undefined ? `manifest line ${p.line}: ` : ''}${p.field}: ${p.rule}`);
      continue;
    }
    if (!filter!.matches(entry.key.slice(input.prefix.length))) continue;
    chunk.push(entry);
    if (chunk.length >= CHUNK) {
      await flush(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) await flush(chunk);
  await writing;
  if (symlinks > 0) deps.logger.warn({ batchId, symlinks }, 'symbolic links were not followed');
  const record = await batches.seal(batchId);
  deps.logger.info({ batchId, ...totals }, 'batch enqueued');
  return { batchId, created, ...totals, ...(record ? { record } : {}) };
}
