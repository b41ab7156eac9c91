import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { devstackWorkerEnv, startDevstack, startRedisServer } from '@obsq/devstack';
import { Producer } from '@obsq/producer';
import { createRedis, isSuccess, quitRedis, redisReady } from '@obsq/shared';
import { obsClientFromConfig, type ObsClient } from '@obsq/storage';
import { out } from '../output.js';
import { showProgress } from '../progress.js';

const MiB = 1024 * 1024;
// Debian pocketsphinx-testdata: 16 kHz 16-bit mono headerless PCM of "go forward ten meters".
const GOFORWARD = '/usr/share/pocketsphinx/test/data/goforward.raw';

async function sha256(stream: AsyncIterable<unknown>): Promise<string> {
  const h = createHash('sha256');
  for await (const c of stream) h.update(c as Buffer);
  return h.digest('hex');
}

/**
 * `obsq demo`: the main job end to end on the local default stack. Starts a private redis-server,
 * devstack, two worker processes, uploads a generated file as a multipart upload, copies it
 * server-side, verifies the bytes, uploads a directory as a batch and re-runs it (all skipped),
 * transcribes goforward.raw through devstack's SIS server, prints
 * the records and the text, and shuts everything down.
 */
export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { size: { type: 'string', default: '48' }, workers: { type: 'string', default: '2' } } });
  const sizeMiB = Number(values.size);
  const dir = await mkdtemp(join(tmpdir(), 'obsq-demo-'));
  const logger = pino({ level: 'warn' }, pino.destination({ fd: 2, sync: true }));
  const redis = await startRedisServer();
  const devstack = await startDevstack({ buckets: ['demo'], minPartSize: MiB });
  const children: ChildProcess[] = [];
  let storage: ObsClient | undefined;
  let producer: Producer | undefined;
  const conn = createRedis('producer', { urls: [redis.url], cluster: false }, logger);
  try {
    const obs = {
      endpoint: devstack.obs.endpoint,
      region: devstack.obs.region,
      signature: 'v4' as const,
      pathStyle: true,
      accessKeyId: devstack.obs.accessKeyId,
      secretAccessKey: devstack.obs.secretAccessKey,
      flavour: 's3' as const,
      minPartSize: MiB,
      copyThreshold: 8 * MiB,
    };
    const env = {
      ...process.env,
      ...devstackWorkerEnv({ obs: devstack.obs, sis: devstack.sis, redisUrls: [redis.url], sourceRoots: dir, minPartSize: MiB }),
      OBSQ_LOG_LEVEL: 'warn',
    };
    out(`redis      ${redis.url}`);
    out(`devstack   ${devstack.obs.endpoint} (OBS-compatible, signatures verified)`);
    if (devstack.sis) out(`devstack   ${devstack.sis.endpoint} (SIS real-time ASR, AK/SK handshake)`);
    for (let i = 0; i < Number(values.workers); i++) {
      // The workers run the same obsq as this command: the compiled bundle, or the sources under tsx
      // (`pnpm obsq:dev`), whose loader comes along in execArgv.
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'worker'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      children.push(child);
    }
    out(`workers    ${children.length} processes`);

    const path = join(dir, 'demo.bin');
    await writeFile(path, Buffer.alloc(0));
    for (let left = sizeMiB * MiB; left > 0; left -= 4 * MiB) await appendFile(path, randomBytes(Math.min(4 * MiB, left)));
    await redisReady(conn);
    storage = obsClientFromConfig(obs);
    producer = new Producer({ redis: conn, prefix: '{obsq}', storage, minPartSize: MiB, copyThreshold: obs.copyThreshold, logger });

    const up = await producer.enqueueUpload({ source: { kind: 'file', path }, bucket: 'demo', key: 'demo/data.bin', partSize: '4MiB' });
    out(`upload     job ${up.jobId}: ${up.parts} parts of ${sizeMiB} MiB`);
    const p = producer;
    const stop = showProgress('upload', up.size, async () => {
      const pr = await p.uploadProgress(up.jobId);
      return pr ? Math.round((pr.done / Math.max(1, pr.total)) * up.size) : 0;
    });
    const upRec = await producer.waitForResult(up.jobId, { timeoutMs: 300_000 });
    stop(isSuccess(upRec.result) ? up.size : undefined);
    out(JSON.stringify({ job: 'upload', ...upRec.result, header: undefined }));
    if (!isSuccess(upRec.result)) return 1;

    const cp = await producer.enqueueCopy({ source: { bucket: 'demo', key: 'demo/data.bin' }, target: { bucket: 'demo', key: 'demo/copy.bin' } });
    out(`copy       job ${cp.jobId}: ${cp.path} copy`);
    const cpRec = await producer.waitForResult(cp.jobId, { timeoutMs: 300_000 });
    out(JSON.stringify({ job: 'copy', ...cpRec.result, header: undefined }));
    if (!isSuccess(cpRec.result)) return 1;

    const local = await sha256(createReadStream(path));
    const uploaded = await sha256((await storage.getObject({ bucket: 'demo', key: 'demo/data.bin' })).body!.response);
    const copied = await sha256((await storage.getObject({ bucket: 'demo', key: 'demo/copy.bin' })).body!.response);
    const ok = local === uploaded && local === copied;
    out(`verify     sha256 ${local.slice(0, 16)}… source=${local === uploaded ? 'upload ok' : 'UPLOAD MISMATCH'} copy=${local === copied ? 'ok' : 'MISMATCH'}`);

    // A batch, as a pipeline hands one over: a directory of small files (one PutObject each) and a
    // large one (multipart), then the nightly re-run that finds everything already stored.
    const tree = join(dir, 'dataset');
    await mkdir(join(tree, 'day-1'), { recursive: true });
    for (let i = 0; i < 200; i++) await writeFile(join(tree, 'day-1', `part-${String(i).padStart(3, '0')}.csv`), `id,square\n${i},${i * i}\n`);
    await writeFile(join(tree, 'day-1', 'large.bin'), randomBytes(6 * MiB));
    const batch = async (batchId: string, skipExisting: 'none' | 'size') => {
      const enq = await producer!.enqueueBatch({ bucket: 'demo', prefix: 'demo/dataset/', sources: [tree], partSize: '4MiB', skipExisting, batchId });
      const rec = await producer!.waitForBatch(enq.batchId, { timeoutMs: 300_000, pollMs: 100 });
      out(JSON.stringify({ job: 'batch', ...rec.result, header: undefined, body: rec.result.body ? { ...rec.result.body, failures: rec.result.body.failures.slice(0, 3) } : null }));
      return rec.result;
    };
    const first = await batch(`demo-${Date.now().toString(36)}`, 'none');
    out(`batch      ${first.body?.succeeded ?? 0} of ${first.body?.files ?? 0} files stored (${first.body?.bytes ?? 0} bytes, ${first.body?.mibPerSec ?? 0} MiB/s)`);
    const rerun = await batch(`demo-rerun-${Date.now().toString(36)}`, 'size');
    out(`re-run     ${rerun.body?.skipped ?? 0} of ${rerun.body?.files ?? 0} files already stored, ${rerun.body?.succeeded ?? 0} uploaded (--skip-existing size)`);
    const batchOk = first.status === 200 && first.body?.succeeded === 201 && rerun.status === 200 && rerun.body?.skipped === 201;

    let heard = true;
    if (await access(GOFORWARD).then(() => true, () => false)) {
      await storage.putObject({ bucket: 'demo', key: 'demo/goforward.raw', body: await readFile(GOFORWARD) });
      const tr = await producer.enqueueTranscription({
        audio: { bucket: 'demo', key: 'demo/goforward.raw' },
        request: { audioFormat: 'pcm16k16bit', property: 'english_16k_common' },
        output: { bucket: 'demo', prefix: 'demo/transcripts/', formats: ['srt', 'txt'] },
        engine: 'sis',
      });
      out(`transcribe job ${tr.jobId}: goforward.raw through SIS (devstack)`);
      const trRec = await producer.waitForResult<{ text: string; trace_id: string }>(tr.jobId, { timeoutMs: 120_000 });
      out(JSON.stringify({ job: 'transcribe', ...trRec.result, header: undefined }));
      heard = isSuccess(trRec.result);
      out(`text       ${heard ? JSON.stringify(trRec.result.body!.text) : `FAILED ${trRec.result.errorCode}`}`);
    } else {
      out(`transcribe skipped: ${GOFORWARD} missing (apt-get install pocketsphinx-testdata)`);
    }
    out(ok && batchOk && heard ? 'demo: OK' : 'demo: FAILED');
    return ok && batchOk && heard ? 0 : 1;
  } finally {
    await producer?.close().catch(() => undefined);
    await storage?.close().catch(() => undefined);
    await quitRedis(conn);
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
    await devstack.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
