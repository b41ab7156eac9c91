import type { Producer } from '@obsq/producer';
import { type BatchRecordBody, type BatchStatus, type Logger, type ProducerConfig, type StoredResult } from '@obsq/shared';
import { parseFlags } from '../flags.js';
import { out } from '../output.js';
import { showBatchProgress } from '../progress.js';
import { withProducer } from '../withProducer.js';

export const BATCH_USAGE = `usage: obsq batch status|wait|retry <batchId> [--json] [--timeout-ms N] [--wait]

  status   counters of a running or finished batch (files done, failed, skipped, bytes)
  wait     wait for the batch record (TTY progress bar), print it; exit 0 only when no file failed
  retry    re-enqueue the files that failed as a new batch <batchId>.rN; prints its id
           (--wait: wait for it too)

example: obsq batch wait b-2026-12-01-1a2b3c4d --json
exit codes: 0 success, 1 a file failed or the batch is unknown, 2 bad usage
`;

/** Prints a batch record (one JSON line with `json`); exit code 0 only for status 200. */
export function printBatchRecord(rec: StoredResult<BatchRecordBody>, json: boolean): number {
  const r = rec.result;
  if (json) out(JSON.stringify(r));
  else {
    const b = r.body;
    out(`batch ${rec.jobId}: ${r.status} ${r.reason}${r.errorCode ? ` ${r.errorCode}: ${r.errorMessage}` : ''}`);
    if (b) {
      out(`  files ${b.files}: ${b.succeeded} uploaded, ${b.skipped} skipped, ${b.failed} failed; ${b.bytes} bytes in ${b.durationMs} ms (${b.mibPerSec} MiB/s)`);
      for (const f of b.failures.slice(0, 20)) out(`  failed ${f.line !== undefined ? `line ${f.line} ` : ''}${f.key || f.source}: ${f.errorCode}: ${f.errorMessage}`);
      if (b.failed > 20) out(`  … ${b.failed - 20} more (see --json, or obsq batch retry ${rec.jobId})`);
    }
  }
  return r.status === 200 ? 0 : 1;
}

/** Waits for a batch with an aggregate progress bar on a TTY, prints its record. */
export async function waitAndPrintBatch(producer: Producer, batchId: string, json: boolean, timeoutMs: number): Promise<number> {
  let last: BatchStatus | undefined;
  const stop = showBatchProgress('batch', async () => last);
  try {
    const rec = await producer.waitForBatch(batchId, { timeoutMs, onProgress: (s) => (last = s) });
    stop(last);
    return printBatchRecord(rec, json);
  } finally {
    stop();
  }
}

/** `obsq batch status|wait|retry <batchId>` */
export async function batchCommand(argv: string[], config: ProducerConfig, logger: Logger): Promise<number> {
  // `batch wait` waits: `--timeout-ms` applies to it as it does with `--wait`.
  const { values, positionals } = parseFlags({
    args: argv[0] === 'wait' && !argv.includes('--wait') ? [...argv, '--wait'] : argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
      'timeout-ms': { type: 'string', default: '86400000' },
      help: { type: 'boolean', default: false },
    },
  });
  const [sub, batchId] = positionals;
  if (values.help) {
    out(BATCH_USAGE);
    return 0;
  }
  if (!sub || !batchId || positionals.length !== 2 || !['status', 'wait', 'retry'].includes(sub)) {
    process.stderr.write(BATCH_USAGE);
    return 2;
  }
  // parseFlags checked a given --timeout-ms; the default is ours.
  const timeoutMs = Number(values['timeout-ms']);
  return withProducer(config, logger, async (producer) => {
    if (sub === 'status') {
      const s = await producer.batchStatus(batchId);
      if (!s) {
        process.stderr.write(`obsq batch: no batch ${JSON.stringify(batchId)} (unknown, or its record expired)\n`);
        return 1;
      }
      if (values.json) out(JSON.stringify({ ...s, record: s.record?.result }));
      else {
        const state = s.record ? `finished ${s.record.result.status}` : s.sealed ? 'running' : 'enqueueing';
        out(`batch ${batchId} (${state}) obs://${s.bucket}/${s.prefix}: ${s.done}/${s.members} files done, ${s.failed} failed, ${s.skipped} skipped, ${s.bytesDone}/${s.bytesTotal} bytes`);
      }
      return 0;
    }
    if (sub === 'wait') return waitAndPrintBatch(producer, batchId, values.json, timeoutMs);
    const retried = await producer.retryBatch(batchId);
    if (!values.wait) {
      out(values.json ? JSON.stringify(retried) : retried.batchId);
      return 0;
    }
    if (!values.json) out(`${retried.batchId}: ${retried.enqueued} files re-enqueued`);
    return waitAndPrintBatch(producer, retried.batchId, values.json, timeoutMs);
  });
}
