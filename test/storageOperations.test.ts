import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetBucketLocationCommand, ListBucketsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevstack, type Devstack } from '@obsq/devstack';
import { OBSQ_VERSION, QUEUE_NAMES } from '@obsq/shared';
import { ObsClient, STORAGE_OPERATIONS, type StorageOperation, type StorageRequestEvent } from '@obsq/storage';
import { METRIC_QUEUES, operationLabel, queueLabel } from '@obsq/worker';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

// One list per concept (issue 9): the client's operation names, devstack's routes and the metric
// label allow-list are the same set; queue labels are the catalog's names; one version everywhere.
describe('one source for every list', () => {
  let ds: Devstack;
  let client: ObsClient;
  let s3: S3Client;
  const emitted = new Set<StorageOperation>();

  beforeAll(async () => {
    ds = await startDevstack({ buckets: ['ops'], sis: false, requireContentMd5: true });
    client = new ObsClient({
      endpoint: ds.obs.endpoint,
      signature: 'v4',
      pathStyle: true,
      region: ds.obs.region,
      credentials: { accessKeyId: ds.obs.accessKeyId, secretAccessKey: ds.obs.secretAccessKey },
      keepAliveTimeoutMs: 10,
      onRequest: (e: StorageRequestEvent) => emitted.add(e.operation),
    });
    s3 = new S3Client({
      endpoint: ds.obs.endpoint,
      region: ds.obs.region,
      credentials: { accessKeyId: ds.obs.accessKeyId, secretAccessKey: ds.obs.secretAccessKey },
      forcePathStyle: true,
    });
  });

  afterAll(async () => {
    s3?.destroy();
    await client?.close();
    await ds?.close();
  });

  it('every operation the client emits has a metric label and is routed by devstack under the same name', async () => {
    ds.resetStats();
    const bucket = 'ops-new';
    await client.createBucket({ bucket });
    await client.headBucket({ bucket });
    const body = Buffer.alloc(100 * 1024, 7);
    await client.putObject({ bucket, key: 'a', body });
    // Read the body through: an unread response keeps its request open, and close() waits for it.
    for await (const _ of (await client.getObject({ bucket, key: 'a' })).body!.response) void _;
    await client.headObject({ bucket, key: 'a' });
    await client.copyObject({ bucket, key: 'b', sourceBucket: bucket, sourceKey: 'a' });
    await client.listObjects({ bucket });
    const up = await client.initiateMultipartUpload({ bucket, key: 'm' });
    const uploadId = up.body!.uploadId;
    const p1 = await client.uploadPart({ bucket, key: 'm', uploadId, partNumber: 1, body });
    const p2 = await client.uploadPartCopy({ bucket, key: 'm', uploadId, partNumber: 2, sourceBucket: bucket, sourceKey: 'a' });
    await client.listParts({ bucket, key: 'm', uploadId });
    const listed = await client.listMultipartUploads({ bucket });
    expect(listed.body!.uploads.map((u) => u.uploadId)).toEqual([uploadId]);
    await client.completeMultipartUpload({
      bucket,
      key: 'm',
      uploadId,
      parts: [
        { partNumber: 1, etag: p1.body!.etag },
        { partNumber: 2, etag: p2.body!.etag },
      ],
    });
    const doomed = await client.initiateMultipartUpload({ bucket, key: 'x' });
    await client.abortMultipartUpload({ bucket, key: 'x', uploadId: doomed.body!.uploadId });
    for (const key of ['a', 'b', 'm']) await client.deleteObject({ bucket, key });
    await client.deleteBucket({ bucket });
    // Operations only other clients send.
    await s3.send(new ListBucketsCommand({}));
    await s3.send(new GetBucketLocationCommand({ Bucket: 'ops' }));
    await s3.send(new ListObjectsV2Command({ Bucket: 'ops' }));

    for (const op of emitted) expect(operationLabel(op), op).toBe(op);
    const routed = Object.keys(ds.stats().operations);
    for (const op of emitted) expect(routed, `devstack routed ${op}`).toContain(op);
    // Every listed operation is exercised here but GetApiVersion (an OBS-only HEAD that the
    // esdk-obs-nodejs conformance test sends).
    expect([...new Set([...emitted, ...routed])].sort()).toEqual(STORAGE_OPERATIONS.filter((op) => op !== 'GetApiVersion').sort());
    expect(operationLabel('NotAnOperation')).toBe('other');
  });

  it('queue labels are the catalog’s job names', () => {
    expect([...METRIC_QUEUES]).toEqual([...QUEUE_NAMES]);
    for (const q of QUEUE_NAMES) expect(queueLabel(q)).toBe(q);
  });

  it('OBSQ_VERSION is every package’s version', async () => {
    const dirs = ['.', 'test', ...(await readdir(join(ROOT, 'packages'))).map((d) => `packages/${d}`)];
    for (const d of dirs) {
      const pkg = JSON.parse(await readFile(join(ROOT, d, 'package.json'), 'utf8')) as { version: string };
      expect(pkg.version, `${d}/package.json`).toBe(OBSQ_VERSION);
    }
  });
});
