import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { loadProducerConfig } from './producerConfig.js';
import { parseEnv, type ConfigIssue } from './parseEnv.js';
import { redactConfig } from './redactConfig.js';
import { BoolEnv } from './envFields.js';
import { loadWorkerConfig } from './workerConfig.js';
import { defaultUrlPolicy } from '../net/index.js';
import { z } from 'zod';

/** The smallest environment a worker starts with. */
const BASE = {
  OBSQ_OBS_ENDPOINT: 'https://obs.cn-north-4.myhuaweicloud.com',
  OBSQ_OBS_ACCESS_KEY_ID: 'AKEXAMPLE',
  OBSQ_OBS_SECRET_ACCESS_KEY: 'SKEXAMPLE',
  OBSQ_SIS_PROJECT_ID: 'p-1',
  OBSQ_SIS_AK: 'SISAK',
  OBSQ_SIS_SK: 'SISSK',
};

function issuesOf(env: Record<string, string | undefined>): ConfigIssue[] {
  try {
    loadWorkerConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('OBSQ_CONFIG_INVALID');
    return ((err as ConfigError).details as { issues: ConfigIssue[] }).issues;
  }
  return [];
}

function lines(env: Record<string, string | undefined>): string[] {
  return issuesOf(env).map((i) => `${i.variable}: ${i.rule}`);
}

describe('worker configuration: one message per bad variable', () => {
  const table: Array<[Record<string, string | undefined>, string[]]> = [
    [{ OBSQ_OBS_ENDPOINT: undefined }, ['OBSQ_OBS_ENDPOINT: is required']],
    [{ OBSQ_OBS_ENDPOINT: 'obs.example.com' }, ['OBSQ_OBS_ENDPOINT: must be a URL starting with https:// or http:// (got "obs.example.com")']],
    [{ OBSQ_OBS_ENDPOINT: 'ftp://x' }, ['OBSQ_OBS_ENDPOINT: must be a URL starting with https:// or http:// (got "ftp://x")']],
    [{ OBSQ_OBS_SIGNATURE: 'v3' }, ['OBSQ_OBS_SIGNATURE: must be one of obs, v2, v4 (got "v3")']],
    [{ OBSQ_OBS_PATH_STYLE: 'maybe' }, ['OBSQ_OBS_PATH_STYLE: must be one of true, false, 1, 0, yes, no (got "maybe")']],
    [{ OBSQ_OBS_ACCESS_KEY_ID: undefined }, ['OBSQ_OBS_ACCESS_KEY_ID: is required (or set AccessKeyID, the Huawei SDK name)']],
    [{ OBSQ_OBS_SECRET_ACCESS_KEY: undefined }, ['OBSQ_OBS_SECRET_ACCESS_KEY: is required (or set SecretAccessKey, the Huawei SDK name)']],
    [{ OBSQ_OBS_FLAVOUR: 'gcs' }, ['OBSQ_OBS_FLAVOUR: must be one of obs, s3 (got "gcs")']],
    [{ OBSQ_OBS_MIN_PART_SIZE: 'big' }, ['OBSQ_OBS_MIN_PART_SIZE: must be a byte size such as 1048576, 100KiB, 8MiB or 5GB (got "big")']],
    [{ OBSQ_OBS_MIN_PART_SIZE: '6GiB' }, ['OBSQ_OBS_MIN_PART_SIZE: must be at most 5368709120 bytes (5 GiB) (got "6GiB")']],
    [{ OBSQ_OBS_MIN_PART_SIZE: '0' }, ['OBSQ_OBS_MIN_PART_SIZE: must be at least 1 bytes (1 B) (got "0")']],
    [{ OBSQ_COPY_THRESHOLD: '5GiB1' }, ['OBSQ_COPY_THRESHOLD: must be a byte size such as 1048576, 100KiB, 8MiB or 5GB (got "5GiB1")']],
    [{ OBSQ_COPY_THRESHOLD: '6GB' }, ['OBSQ_COPY_THRESHOLD: must be at most 5368709120 bytes (5 GiB) (got "6GB")']],
    [{ OBSQ_REDIS_URL: 'http://localhost' }, ['OBSQ_REDIS_URL: entry 1 must be a redis:// or rediss:// URL']],
    [
      { OBSQ_REDIS_URL: 'redis://a:1,redis://b:2' },
      ['OBSQ_REDIS_URL: lists 2 URLs, which needs OBSQ_REDIS_CLUSTER=true (a single Redis takes one URL)'],
    ],
    [{ OBSQ_REDIS_CLUSTER: 'y' }, ['OBSQ_REDIS_CLUSTER: must be one of true, false, 1, 0, yes, no (got "y")']],
    [{ OBSQ_PREFIX: 'my prefix' }, ['OBSQ_PREFIX: must not contain spaces (got "my prefix")']],
    [{ OBSQ_RESULT_RETENTION_SECONDS: '0' }, ['OBSQ_RESULT_RETENTION_SECONDS: must be a positive integer (got "0")']],
    [{ OBSQ_RESULT_STREAM_MAXLEN: '1e5' }, ['OBSQ_RESULT_STREAM_MAXLEN: must be a positive integer (got "1e5")']],
    [{ OBSQ_TRANSCRIBER: 'whisper' }, ['OBSQ_TRANSCRIBER: must be one of sis, local (got "whisper")']],
    [{ OBSQ_SIS_ENDPOINT: 'https://sis' }, ['OBSQ_SIS_ENDPOINT: must be a URL starting with wss:// or ws:// (got "https://sis")']],
    [{ OBSQ_TRANSCRIBER: 'sis', OBSQ_SIS_PROJECT_ID: undefined }, ['OBSQ_SIS_PROJECT_ID: is required when OBSQ_TRANSCRIBER is "sis"']],
    [
      { OBSQ_TRANSCRIBER: 'sis', OBSQ_SIS_AK: undefined, OBSQ_SIS_SK: undefined },
      [
        'OBSQ_SIS_AK: is required when OBSQ_TRANSCRIBER is "sis": set OBSQ_SIS_AK and OBSQ_SIS_SK (or HUAWEICLOUD_SIS_AK and HUAWEICLOUD_SIS_SK), or OBSQ_SIS_TOKEN',
      ],
    ],
    [{ OBSQ_SIS_SK: undefined }, ['OBSQ_SIS_SK: is required when an AK is set (or set HUAWEICLOUD_SIS_SK)']],
    [{ OBSQ_SIS_AK: undefined }, ['OBSQ_SIS_AK: is required when an SK is set (or set HUAWEICLOUD_SIS_AK)']],
    [{ OBSQ_SIS_CONNECT_TIMEOUT_MS: '-5' }, ['OBSQ_SIS_CONNECT_TIMEOUT_MS: must be a positive integer (got "-5")']],
    [{ OBSQ_SIS_READ_TIMEOUT_MS: '1.5' }, ['OBSQ_SIS_READ_TIMEOUT_MS: must be a positive integer (got "1.5")']],
    [{ OBSQ_SIS_FRAME_BYTES: '100' }, ['OBSQ_SIS_FRAME_BYTES: must be an integer from 320 to 32768 (got "100")']],
    [{ OBSQ_SIS_PACE: '-1' }, ['OBSQ_SIS_PACE: must be a non-negative number (got "-1")']],
    [{ OBSQ_CONCURRENCY_UPLOAD_PART: 'abc' }, ['OBSQ_CONCURRENCY_UPLOAD_PART: must be a positive integer (got "abc")']],
    [{ OBSQ_CONCURRENCY_COMPLETE_MULTIPART: '0' }, ['OBSQ_CONCURRENCY_COMPLETE_MULTIPART: must be a positive integer (got "0")']],
    [{ OBSQ_CONCURRENCY_COPY_OBJECT: '2x' }, ['OBSQ_CONCURRENCY_COPY_OBJECT: must be a positive integer (got "2x")']],
    [{ OBSQ_CONCURRENCY_TRANSCRIBE_AUDIO_FILE: '-1' }, ['OBSQ_CONCURRENCY_TRANSCRIBE_AUDIO_FILE: must be a positive integer (got "-1")']],
    [{ OBSQ_SOURCE_ROOTS: '/data:relative' }, ['OBSQ_SOURCE_ROOTS: entry 2 must be an absolute path (got "relative")']],
    [
      { OBSQ_SOURCE_ROOTS: '/data/../etc' },
      [`OBSQ_SOURCE_ROOTS: entry 1 must be normalised, without '.', '..' or empty segments (got "/data/../etc", meaning "/etc")`],
    ],
    [{ OBSQ_METRICS_PORT: '65536' }, ['OBSQ_METRICS_PORT: must be an integer from 0 to 65535 (got "65536")']],
    [{ OBSQ_SHUTDOWN_TIMEOUT_MS: 'soon' }, ['OBSQ_SHUTDOWN_TIMEOUT_MS: must be a positive integer (got "soon")']],
    [{ OBSQ_LOG_LEVEL: 'verbose' }, ['OBSQ_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")']],
    [{ OBSQ_STALLED_INTERVAL_MS: '0' }, ['OBSQ_STALLED_INTERVAL_MS: must be a positive integer (got "0")']],
    [{ OBSQ_LOCK_DURATION_MS: 'x' }, ['OBSQ_LOCK_DURATION_MS: must be a positive integer (got "x")']],
  ];

  it.each(table)('%j', (patch, expected) => {
    expect(lines({ ...BASE, ...patch })).toEqual(expected);
  });

  it('lists every bad variable in one error, by name', () => {
    const env = { OBSQ_CONCURRENCY_UPLOAD_PART: 'abc', OBSQ_METRICS_PORT: '-1', OBSQ_OBS_SIGNATURE: 'v9', OBSQ_TRANSCRIBER: 'sis' };
    expect(() => loadWorkerConfig(env)).toThrow(ConfigError);
    try {
      loadWorkerConfig(env);
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toMatch(/^invalid configuration for obsq-worker \(8 problems\):\n/);
      for (const v of ['OBSQ_OBS_ENDPOINT', 'OBSQ_OBS_ACCESS_KEY_ID', 'OBSQ_OBS_SECRET_ACCESS_KEY', 'OBSQ_OBS_SIGNATURE', 'OBSQ_CONCURRENCY_UPLOAD_PART', 'OBSQ_METRICS_PORT', 'OBSQ_SIS_PROJECT_ID', 'OBSQ_SIS_AK']) {
        expect(message).toContain(`\n  ${v}: `);
      }
      expect((err as Error).cause).toBeDefined();
    }
  });

  it('never echoes a secret, not even in the chained cause', () => {
    const env = { ...BASE, OBSQ_OBS_SIGNATURE: 'bad', OBSQ_REDIS_URL: 'redis://:hunter2@h:1,redis://:hunter2@h:2' };
    try {
      loadWorkerConfig(env);
      expect.fail('should throw');
    } catch (err) {
      const e = err as ConfigError;
      expect(`${e.message} ${JSON.stringify(e.details)} ${JSON.stringify(e.cause)}`).not.toMatch(/hunter2|SKEXAMPLE|AKEXAMPLE/);
    }
  });
});

describe('worker configuration: defaults and fallbacks', () => {
  it('fills every default', () => {
    const cfg = loadWorkerConfig(BASE);
    expect(cfg).toEqual({
      obs: {
        endpoint: 'https://obs.cn-north-4.myhuaweicloud.com',
        region: 'cn-north-4',
        signature: 'obs',
        pathStyle: false,
        accessKeyId: 'AKEXAMPLE',
        secretAccessKey: 'SKEXAMPLE',
        flavour: 'obs',
        minPartSize: 100 * 1024,
        copyThreshold: 5 * 1024 ** 3,
      },
      redis: { urls: ['redis://127.0.0.1:6379'], cluster: false, prefix: '{obsq}', resultRetentionSeconds: 604_800, resultStreamMaxLen: 100_000 },
      sis: {
        transcriber: 'sis',
        endpoint: 'wss://sis-ext.cn-north-4.myhuaweicloud.com',
        region: 'cn-north-4',
        projectId: 'p-1',
        auth: { kind: 'aksk', ak: 'SISAK', sk: 'SISSK' },
        connectTimeoutMs: 10_000,
        readTimeoutMs: 10_000,
        frameBytes: 3200,
        pace: 1,
      },
      concurrency: { 'put-object': 16, 'upload-part': 8, 'complete-multipart': 16, 'copy-object': 8, 'transcribe-audio-file': 2, 'scan-transcriptions': 1, 'abort-stale-uploads': 1 },
      sourceRoots: [],
      sourceHardlinks: 'refuse',
      url: defaultUrlPolicy(),
      audioMaxBytes: 2 * 1024 ** 3,
      metrics: { host: '0.0.0.0', port: 9464 },
      shutdownTimeoutMs: 30_000,
      logLevel: 'info',
      stalledIntervalMs: 30_000,
      lockDurationMs: 30_000,
    });
  });

  it('reads the Huawei SDK credential names, ours winning', () => {
    const { OBSQ_OBS_ACCESS_KEY_ID: _a, OBSQ_OBS_SECRET_ACCESS_KEY: _s, ...rest } = BASE;
    const sdk = loadWorkerConfig({ ...rest, AccessKeyID: 'ak2', SecretAccessKey: 'sk2', SecurityToken: 'tok2' }).obs;
    expect(sdk).toMatchObject({ accessKeyId: 'ak2', secretAccessKey: 'sk2', securityToken: 'tok2' });
    const ours = loadWorkerConfig({ ...BASE, AccessKeyID: 'ak2', OBSQ_OBS_SECURITY_TOKEN: 't1', SecurityToken: 'tok2' }).obs;
    expect(ours).toMatchObject({ accessKeyId: 'AKEXAMPLE', securityToken: 't1' });
  });

  it('derives flavour and minimum part size from the signature', () => {
    expect(loadWorkerConfig({ ...BASE, OBSQ_OBS_SIGNATURE: 'v4' }).obs).toMatchObject({ flavour: 's3', minPartSize: 5 * 1024 ** 2 });
    expect(loadWorkerConfig({ ...BASE, OBSQ_OBS_SIGNATURE: 'v4', OBSQ_OBS_FLAVOUR: 'obs' }).obs).toMatchObject({ flavour: 'obs', minPartSize: 102_400 });
    expect(loadWorkerConfig({ ...BASE, OBSQ_OBS_MIN_PART_SIZE: '1MiB' }).obs.minPartSize).toBe(1024 ** 2);
  });

  it('takes SIS fallbacks and the token, and needs no SIS credentials for the local engine', () => {
    const { OBSQ_SIS_AK: _a, OBSQ_SIS_SK: _s, OBSQ_SIS_PROJECT_ID: _p, ...rest } = BASE;
    expect(loadWorkerConfig({ ...rest, OBSQ_SIS_PROJECT_ID: 'p', HUAWEICLOUD_SIS_AK: 'a', HUAWEICLOUD_SIS_SK: 's' }).sis.auth).toEqual({ kind: 'aksk', ak: 'a', sk: 's' });
    expect(loadWorkerConfig({ ...rest, OBSQ_SIS_PROJECT_ID: 'p', OBSQ_SIS_TOKEN: 't' }).sis.auth).toEqual({ kind: 'token', token: 't' });
    // A worker that never transcribes needs no SIS settings unless sis is chosen explicitly.
    expect(loadWorkerConfig(rest).sis.transcriber).toBe('sis');
    const local = loadWorkerConfig({ ...rest, OBSQ_TRANSCRIBER: 'local' }).sis;
    expect(local.auth).toBeUndefined();
    expect(local.transcriber).toBe('local');
  });

  it('parses lists, booleans, cluster seeds and the hash-tagged prefix; blank values count as unset', () => {
    const cfg = loadWorkerConfig({
      ...BASE,
      OBSQ_SOURCE_ROOTS: '/data/in/:/srv',
      OBSQ_REDIS_CLUSTER: 'YES',
      OBSQ_REDIS_URL: 'redis://a:7000, redis://b:7001',
      OBSQ_PREFIX: 'jobs',
      OBSQ_OBS_PATH_STYLE: '1',
      OBSQ_METRICS_PORT: '0',
      OBSQ_SIS_PACE: '0',
      OBSQ_LOG_LEVEL: '',
      OBSQ_CONCURRENCY_UPLOAD_PART: '  ',
    });
    expect(cfg.sourceRoots).toEqual(['/data/in', '/srv']);
    expect(cfg.redis).toMatchObject({ cluster: true, urls: ['redis://a:7000', 'redis://b:7001'], prefix: '{jobs}' });
    expect(cfg.obs.pathStyle).toBe(true);
    expect(cfg.metrics.port).toBe(0);
    expect(cfg.sis.pace).toBe(0);
    expect(cfg.logLevel).toBe('info');
    expect(cfg.concurrency['upload-part']).toBe(8);
    expect(loadWorkerConfig({ ...BASE, OBSQ_PREFIX: 'a{tag}b' }).redis.prefix).toBe('a{tag}b');
  });
});

describe('producer configuration', () => {
  it('reads the URL policy and names a bad entry', () => {
    const env = { OBSQ_OBS_ENDPOINT: 'http://127.0.0.1:9000', AccessKeyID: 'a', SecretAccessKey: 'b' };
    const cfg = loadProducerConfig({ ...env, OBSQ_URL_ALLOW: '127.0.0.0/8, *.example.com', OBSQ_URL_TIMEOUT_MS: '5000' });
    expect(cfg.url.allow?.entries).toEqual(['127.0.0.0/8', '*.example.com']);
    expect(cfg.url.timeoutMs).toBe(5000);
    expect(() => loadProducerConfig({ ...env, OBSQ_URL_DENY: 'http://x' })).toThrow(/OBSQ_URL_DENY: entry "http:\/\/x" is not a host name/);
    expect(loadProducerConfig({ ...env, OBSQ_SCHEDULE_MIN_INTERVAL: '5m' }).scheduleMinIntervalMs).toBe(300_000);
    expect(() => loadProducerConfig({ ...env, OBSQ_SCHEDULE_MIN_INTERVAL: 'often' })).toThrow(/OBSQ_SCHEDULE_MIN_INTERVAL: must be a duration/);
    expect(() => loadWorkerConfig({ ...BASE, OBSQ_SOURCE_HARDLINKS: 'maybe' })).toThrow(/OBSQ_SOURCE_HARDLINKS: must be one of refuse, allow/);
  });

  it('needs only OBS and Redis', () => {
    const cfg = loadProducerConfig({ OBSQ_OBS_ENDPOINT: 'http://127.0.0.1:9000', AccessKeyID: 'a', SecretAccessKey: 'b', OBSQ_LOG_LEVEL: 'debug' });
    expect(Object.keys(cfg).sort()).toEqual(['logLevel', 'obs', 'redis', 'scheduleMinIntervalMs', 'url']);
    expect(cfg.scheduleMinIntervalMs).toBe(60_000);
    expect(cfg.logLevel).toBe('debug');
  });

  it('names the service', () => {
    expect(() => loadProducerConfig({})).toThrow(/^invalid configuration for obsq-producer \(3 problems\)/);
  });
});

describe('parseEnv and BoolEnv', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['No', false],
    [undefined, false],
  ])('BoolEnv %j', (raw, value) => {
    const schema = z.object({ FLAG: BoolEnv.default(false) });
    expect(parseEnv(schema, raw === undefined ? {} : { FLAG: raw }, { service: 't' }).FLAG).toBe(value);
  });
});

describe('redactConfig', () => {
  it('blanks every secret and URL credential, leaving the rest', () => {
    const cfg = loadWorkerConfig({ ...BASE, OBSQ_OBS_SECURITY_TOKEN: 'TOKEN', OBSQ_REDIS_URL: 'redis://user:hunter2@h:6379' });
    const red = redactConfig(cfg);
    const text = JSON.stringify(red);
    for (const secret of ['AKEXAMPLE', 'SKEXAMPLE', 'TOKEN', 'SISAK', 'SISSK', 'hunter2']) expect(text).not.toContain(secret);
    expect(red.obs.endpoint).toBe(cfg.obs.endpoint);
    expect(red.obs.accessKeyId).toBe('[REDACTED]');
    expect(red.redis.urls).toEqual(['redis://REDACTED@h:6379']);
    // The original is untouched.
    expect(cfg.obs.secretAccessKey).toBe('SKEXAMPLE');
  });
});
