import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES, type StoredResult } from '@obsq/shared';
import type { CancelOutcome, JobDetails, JobSummary, ObsqStatus, RetryFailedOutcome } from '@obsq/producer';
import type { AbortStaleRecordBody } from '@obsq/worker';
import { sha256File, sha256Object, startStack, type Stack } from './helpers/stack.js';
import { runObsq, type ObsqRun } from './helpers/cli.js';
import { waitFor } from './helpers/waitFor.js';

// Operator commands (issue 13) against a real Redis, devstack and one worker process, driven
// through the `obsq` CLI as an operator would.

const MiB = 1024 * 1024;
let stack: Stack;

function cli(args: string[]): Promise<ObsqRun> {
  return runObsq(args, stack.env);
}

function json<T>(run: ObsqRun): T {
  expect(run.stderr, 'no complaint on stderr').toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
}

/** A usage problem: exit 2 and exactly one line naming it. */
function usage(run: ObsqRun, names: RegExp): void {
  expect(run.code).toBe(2);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(names);
}

async function file(name: string, size: number): Promise<string> {
  const path = join(stack.dir, name);
  await writeFile(path, randomBytes(size));
  return path;
}

const record = (jobId: string) => waitFor(() => stack.producer.getResult(jobId), { what: `record of ${jobId}` });
const stateOf = async (queue: (typeof QUEUE_NAMES)[number], jobId: string) => (await stack.producer.queue(queue).getJob(jobId))?.getState();

beforeAll(async () => {
  stack = await startStack({ workers: 1, buckets: ['ingest'], env: { OBSQ_SCHEDULE_MIN_INTERVAL: '1s' } });
});

afterAll(async () => {
  await stack?.close();
});

describe('obsq status and obsq jobs', () => {
  it('reports every queue with its workers, and a failure by its error code', async () => {
    // A payload the worker refuses: a real failed job with a known code.
    await stack.producer.queue('copy-object').add('copy-object', { mode: 'single' }, { jobId: 'bad-copy-1', attempts: 1 });
    expect((await record('bad-copy-1')).result.errorCode).toBe('OBSQ_VALIDATION');

    const s = json<ObsqStatus>(await cli(['status', '--json']));
    expect(s.queues.map((q) => q.queue)).toEqual([...QUEUE_NAMES]);
    for (const q of s.queues) expect(q.workers, `${q.queue} has its worker`).toBeGreaterThanOrEqual(1);
    expect(s.queues.find((q) => q.queue === 'copy-object')!.counts.failed).toBeGreaterThanOrEqual(1);
    expect(s.failures).toContainEqual({ queue: 'copy-object', errorCode: 'OBSQ_VALIDATION', count: 1 });
    expect(s.openBatches).toEqual([]);

    const human = await cli(['status']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^QUEUE\s+WAITING\s+ACTIVE/m);
    for (const q of QUEUE_NAMES) expect(human.stdout).toContain(q);
    expect(human.stdout).toMatch(/copy-object\s+OBSQ_VALIDATION\s+1/);
  });

  it('reports the age of the oldest waiting job', async () => {
    const q = stack.producer.queue('transcribe-audio-file');
    await q.pause();
    try {
      await q.add('transcribe-audio-file', {}, { jobId: 'waits-1' });
      const s = await waitFor(
        async () => {
          const st = json<ObsqStatus>(await cli(['status', '--json']));
          const age = st.queues.find((x) => x.queue === 'transcribe-audio-file')!.oldestWaitingAgeMs;
          return age !== null && age > 0 ? st : undefined;
        },
        { what: 'a waiting transcription with an age' },
      );
      expect(s.queues.find((x) => x.queue === 'upload-part')!.oldestWaitingAgeMs).toBeNull();
    } finally {
      await (await q.getJob('waits-1'))?.remove();
      await q.resume();
    }
  });

  it('lists jobs by queue and state, and shows one with its record', async () => {
    const failed = json<JobSummary[]>(await cli(['jobs', 'list', '--state', 'failed', '--queue', 'copy-object', '--json']));
    const bad = failed.find((j) => j.id === 'bad-copy-1');
    expect(bad).toMatchObject({ queue: 'copy-object', state: 'failed', attemptsMade: 1, attempts: 1 });
    // The failure reason starts with the record's code, as the queue UI shows it.
    expect(bad!.failedReason).toMatch(/^OBSQ_VALIDATION: /);

    const shown = json<JobDetails>(await cli(['jobs', 'show', 'bad-copy-1', '--json']));
    expect(shown).toMatchObject({ id: 'bad-copy-1', state: 'failed', data: { mode: 'single' } });
    expect(shown.record!.result).toMatchObject({ status: 0, errorCode: 'OBSQ_VALIDATION' });

    const human = await cli(['jobs', 'list', '--state', 'failed', '--limit', '5']);
    expect(human.stdout).toMatch(/bad-copy-1 {2}copy-object {2}failed {2}attempts 1\/1/);

    const missing = await cli(['jobs', 'show', 'no-such-job']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/no job "no-such-job"/);
    usage(await cli(['jobs', 'list', '--state', 'broken']), /--state must be one of waiting, prioritized/);
    usage(await cli(['jobs', 'list', '--limit', '0']), /--limit must be an integer/);
    usage(await cli(['jobs', 'list', '--bogus']), /Unknown option '--bogus'.*see obsq jobs --help/);
  });
});

describe('obsq retry', () => {
  it('retries a failed upload as a whole upload from the same source, once', async () => {
    const src = await file('retry.bin', 3 * MiB);
    // One part refused for good: the upload fails, its multipart upload is aborted.
    stack.devstack.setFaults([{ op: 'UploadPart', times: 1, error: { status: 403, code: 'AccessDenied' } }]);
    const up = await stack.producer.enqueueUpload({ source: { kind: 'file', path: src }, bucket: 'ingest', key: 'retry.bin', partSize: MiB, jobId: 'up-retry' });
    expect((await record(up.jobId)).result.errorCode).toBe('AccessDenied');
    stack.devstack.setFaults([]);

    const r = await cli(['retry', 'up-retry']);
    expect(r).toMatchObject({ code: 0, stdout: 'up-retry -> up-retry-retry-1\n' });
    const rec = await stack.producer.waitForResult('up-retry-retry-1', { timeoutMs: 30_000 });
    expect(rec.result.status).toBe(200);
    expect(rec.result.body).toMatchObject({ parts: 3, size: 3 * MiB });
    expect(await sha256Object(stack.storage, 'ingest', 'retry.bin')).toBe(await sha256File(src));
    // The new upload is a new multipart upload with the original plan.
    expect(((await stack.producer.queue('complete-multipart').getJob('up-retry-retry-1'))!.data as { uploadId: string }).uploadId).not.toBe(up.uploadId);

    // A part's id retries its upload, and a second retry reports the first one.
    const again = await cli(['retry', 'up-retry-part-2', '--json']);
    expect(json<unknown[]>(again)).toEqual([{ jobId: 'up-retry', queue: 'complete-multipart', retriedAs: 'up-retry-retry-1', already: true }]);
    const all = json<RetryFailedOutcome>(await cli(['retry', '--failed', '--queue', 'complete-multipart', '--since', '1h', '--json']));
    expect(all.retried).toEqual([]);
    expect(all.skipped).toContainEqual({ jobId: 'up-retry', reason: 'already retried as up-retry-retry-1' });
  });

  it('retries every failed job with --failed, and refuses jobs that did not fail', async () => {
    // A copy of a source that does not exist yet: it fails for good (NoSuchKey).
    const payload = { mode: 'single', source: { bucket: 'ingest', key: 'later.txt' }, target: { bucket: 'ingest', key: 'later-copy.txt' } };
    await stack.producer.queue('copy-object').add('copy-object', payload, { jobId: 'cp-later', attempts: 1 });
    expect((await record('cp-later')).result.errorCode).toBe('NoSuchKey');
    await stack.storage.putObject({ bucket: 'ingest', key: 'later.txt', body: Buffer.from('now it exists') });

    const out = json<RetryFailedOutcome>(await cli(['retry', '--failed', '--queue', 'copy-object', '--json']));
    expect(out.retried).toEqual([{ jobId: 'cp-later', queue: 'copy-object', retriedAs: 'cp-later-retry-1', already: false }]);
    // A payload the catalog refuses is not put back in the queue.
    expect(out.skipped.map((x) => x.jobId)).toContain('bad-copy-1');
    expect((await stack.producer.waitForResult('cp-later-retry-1', { timeoutMs: 20_000 })).result.status).toBe(200);

    const done = await cli(['retry', 'up-retry-retry-1']);
    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/up-retry-retry-1: is completed: only a failed job can be retried/);
    expect((await cli(['retry', 'nope'])).code).toBe(3);
    usage(await cli(['retry']), /retry needs job ids or --failed/);
    usage(await cli(['retry', '--failed', '--since', '60']), /--since: must be a duration with a unit/);
    usage(await cli(['retry', '--failed', '--queue', 'nope']), /--queue must be one of put-object, upload-part/);
  });
});

describe('obsq cancel', () => {
  it('cancels a waiting upload: parts removed, upload aborted, record OBSQ_CANCELLED', async () => {
    const src = await file('cancel-wait.bin', 3 * MiB);
    const parts = stack.producer.queue('upload-part');
    await parts.pause();
    try {
      const up = await stack.producer.enqueueUpload({ source: { kind: 'file', path: src }, bucket: 'ingest', key: 'cancel-wait.bin', partSize: MiB, jobId: 'up-cancel-wait' });
      const c = json<CancelOutcome>(await cli(['cancel', 'up-cancel-wait', '--json', '--reason', 'wrong bucket']));
      expect(c).toMatchObject({ kind: 'job', jobId: 'up-cancel-wait', queue: 'complete-multipart', stateBefore: 'waiting-children', removedParts: 3, stopping: 0 });
      expect(c.upload).toBe(`upload ${up.uploadId} aborted`);
      const rec = (await stack.producer.getResult('up-cancel-wait'))!;
      expect(rec.result).toMatchObject({ status: 0, errorCode: 'OBSQ_CANCELLED', body: null });
      expect(rec.result.errorMessage).toContain('wrong bucket');
      expect(await parts.getJobCountByTypes('wait')).toBe(0);
      expect((await stack.storage.listAllMultipartUploads({ bucket: 'ingest', prefix: 'cancel-wait' })).length).toBe(0);
      // The parent, left without parts, is run once and fails with the cancel (no record overwrite).
      await waitFor(async () => (await stateOf('complete-multipart', 'up-cancel-wait')) === 'failed', { what: 'cancelled parent failed' });
      expect((await stack.producer.queue('complete-multipart').getJob('up-cancel-wait'))!.failedReason).toMatch(/^OBSQ_CANCELLED: /);
    } finally {
      await parts.resume();
    }
    const again = await cli(['cancel', 'up-cancel-wait']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already finished \(failed\): nothing to cancel/);
    expect((await cli(['cancel', 'nope'])).code).toBe(3);
  });

  it('stops running parts at their next check and aborts the upload', async () => {
    const src = await file('cancel-run.bin', 3 * MiB);
    // Every part PUT hangs for a minute: the parts are active when the cancel comes.
    stack.devstack.setFaults([{ op: 'UploadPart', latencyMs: 60_000 }]);
    try {
      await stack.producer.enqueueUpload({ source: { kind: 'file', path: src }, bucket: 'ingest', key: 'cancel-run.bin', partSize: MiB, jobId: 'up-cancel-run' });
      await waitFor(async () => (await stack.producer.queue('upload-part').getActiveCount()) >= 1, { what: 'a part running' });
      const started = Date.now();
      const c = json<CancelOutcome>(await cli(['cancel', 'up-cancel-run', '--json']));
      expect(c.stopping).toBeGreaterThanOrEqual(1);
      await waitFor(async () => (await stateOf('complete-multipart', 'up-cancel-run')) === 'failed', { what: 'parent failed', timeoutMs: 20_000 });
      expect(Date.now() - started, 'stopped long before the PUT would have ended').toBeLessThan(30_000);
      const activeParts = (await stack.producer.queue('upload-part').getJobs(['failed'])).filter((j) => j.parent?.id === 'up-cancel-run');
      expect(activeParts.length).toBeGreaterThanOrEqual(1);
      for (const p of activeParts) expect((await stack.producer.getResult(String(p.id)))?.result.errorCode).toBe('OBSQ_CANCELLED');
      expect((await stack.producer.getResult('up-cancel-run'))!.result.errorCode).toBe('OBSQ_CANCELLED');
      expect((await stack.storage.listAllMultipartUploads({ bucket: 'ingest', prefix: 'cancel-run' })).length).toBe(0);
    } finally {
      stack.devstack.setFaults([]);
    }
    // Cancelled on purpose: --failed leaves it alone.
    const r = json<RetryFailedOutcome>(await cli(['retry', '--failed', '--queue', 'complete-multipart', '--json']));
    expect(r.skipped).toContainEqual({ jobId: 'up-cancel-run', reason: 'cancelled by an operator (retry it by id to run it anyway)' });
  });

  it('removes a waiting copy from its queue', async () => {
    await stack.storage.putObject({ bucket: 'ingest', key: 'copy-src.txt', body: Buffer.from('hello') });
    const q = stack.producer.queue('copy-object');
    await q.pause();
    try {
      const cp = await stack.producer.enqueueCopy({ source: { bucket: 'ingest', key: 'copy-src.txt' }, target: { bucket: 'ingest', key: 'copy-dst.txt' }, jobId: 'cp-cancel' });
      expect(cp.path).toBe('single');
      const c = await cli(['cancel', 'cp-cancel']);
      expect(c).toMatchObject({ code: 0, stdout: 'cp-cancel (copy-object) cancelled, removed from its queue\n' });
      expect(await q.getJob('cp-cancel')).toBeUndefined();
      expect((await stack.producer.getResult('cp-cancel'))!.result.errorCode).toBe('OBSQ_CANCELLED');
    } finally {
      await q.resume();
    }
  });
});

describe('obsq uploads and the abort-stale-uploads schedule', () => {
  it('lists open multipart uploads and aborts those older than --older-than', async () => {
    const opened = [];
    for (const key of ['stale/a.bin', 'stale/b.bin']) opened.push((await stack.storage.initiateMultipartUpload({ bucket: 'ingest', key })).body!.uploadId);
    const listed = json<{ open: number; stale: Array<{ key: string; uploadId: string }> }>(await cli(['uploads', 'list', 'obs://ingest/stale/', '--json']));
    expect(listed.open).toBe(2);
    expect(listed.stale.map((u) => u.uploadId).sort()).toEqual([...opened].sort());
    expect(json<{ stale: unknown[] }>(await cli(['uploads', 'list', 'obs://ingest/stale/', '--older-than', '1h', '--json'])).stale).toEqual([]);

    // Nothing is an hour old: abort with the default age leaves them.
    expect(json<{ outcomes: unknown[] }>(await cli(['uploads', 'abort', 'obs://ingest/stale/', '--json'])).outcomes).toEqual([]);
    // Ages are compared with a wide margin: starting the CLI takes seconds on a busy machine.
    await waitFor(async () => (await stack.producer.listOpenUploads({ bucket: 'ingest', prefix: 'stale/', olderThanMs: 12_000 })).stale.length === 2, {
      what: 'uploads 12 s old',
      intervalMs: 500,
    });
    const fresh = (await stack.storage.initiateMultipartUpload({ bucket: 'ingest', key: 'stale/fresh.bin' })).body!.uploadId;
    const aborted = await cli(['uploads', 'abort', 'obs://ingest/stale/', '--older-than', '12s']);
    expect(aborted.code).toBe(0);
    expect(aborted.stdout).toMatch(/^2 aborted, 0 gone, 0 failed, of 3 open$/m);
    const left = await stack.storage.listAllMultipartUploads({ bucket: 'ingest', prefix: 'stale/' });
    expect(left.map((u) => u.uploadId)).toEqual([fresh]);
    await stack.storage.abortMultipartUpload({ bucket: 'ingest', key: 'stale/fresh.bin', uploadId: fresh });

    usage(await cli(['uploads', 'list', 'ingest/stale/']), /location: must look like obs:\/\/bucket\/key/);
    usage(await cli(['uploads', 'abort', 'obs://ingest/', '--older-than', 'soon']), /--older-than: must be a duration/);
    usage(await cli(['uploads', 'prune', 'obs://ingest/']), /unknown uploads subcommand "prune"/);
  });

  it('runs as a schedule that reports the open uploads it sees', async () => {
    const keep = (await stack.storage.initiateMultipartUpload({ bucket: 'ingest', key: 'sched/open.bin' })).body!.uploadId;
    const saved = await cli(['schedule', 'abort-stale-uploads', '--cron', '* * * * * *', 'obs://ingest/sched/', '--older-than', '24h', '--id', 'stale-test', '--json']);
    expect(json<{ id: string; olderThanSeconds: number }>(saved)).toMatchObject({ id: 'stale-test', bucket: 'ingest', prefix: 'sched/', olderThanSeconds: 86_400 });
    const run = await waitFor(
      async () =>
        (await stack.producer.recentRecords({ queue: 'abort-stale-uploads', limit: 1 }))[0] as StoredResult<AbortStaleRecordBody> | undefined,
      { what: 'a scheduled run', timeoutMs: 15_000 },
    );
    expect(run.result.body).toMatchObject({ bucket: 'ingest', prefix: 'sched/', open: 1, stale: 0, aborted: 0, failed: 0 });
    const metrics = await (await fetch(`${stack.workers[0]!.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/^obsq_multipart_uploads_open\{schedule="stale-test"\} 1$/m);
    expect((await cli(['schedule', 'list'])).stdout).toMatch(/stale-test {2}"\* \* \* \* \* \*" UTC {2}abort uploads under obs:\/\/ingest\/sched\/ older than 86400s/);
    expect((await cli(['schedule', 'remove', 'stale-test'])).code).toBe(0);
    expect(await stack.producer.listAbortStaleUploadsSchedules()).toEqual([]);
    // The young upload was left alone.
    expect((await stack.storage.listAllMultipartUploads({ bucket: 'ingest', prefix: 'sched/' })).map((u) => u.uploadId)).toEqual([keep]);
    await stack.storage.abortMultipartUpload({ bucket: 'ingest', key: 'sched/open.bin', uploadId: keep });

    const tooYoung = await cli(['schedule', 'abort-stale-uploads', '--cron', '* * * * *', 'obs://ingest/', '--older-than', '30s']);
    expect(tooYoung.code).not.toBe(0);
    expect(tooYoung.stderr).toMatch(/older-than: must be .*60/);
  });
});
