import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coerceError, ValidationError, type ValidationIssue } from '@obsq/shared';
import { pino, type Logger } from 'pino';
import { FaultInjector, type FaultSpec, type OperationStats } from '../faults/index.js';
import { ObsServer, type ObsSettings, settingsPatchSchema } from '../obs/index.js';
import { startSisServer, type SisServer, type SisServerOptions } from '../sis/index.js';
import { FileStore } from '../storage/index.js';

/** Options of {@link startDevstack}. */
export interface DevstackOptions {
  /**
   * TCP port of the OBS-compatible server; 0 picks a free one.
   * @defaultValue 0
   */
  obsPort?: number;
  /**
   * Address to bind.
   * @defaultValue `'127.0.0.1'`
   */
  host?: string;
  /**
   * Directory for buckets, objects and uploads. When omitted a temp dir is created and removed
   * again by `close()`; a given directory is kept (and reloaded on the next start).
   */
  dataDir?: string;
  /** @defaultValue random (20 characters) */
  accessKeyId?: string;
  /** @defaultValue random (40 characters) */
  secretAccessKey?: string;
  /**
   * Region that V4 credential scopes must name, reported by HeadBucket.
   * @defaultValue `'cn-north-4'`
   */
  region?: string;
  /** Buckets to create at start. */
  buckets?: string[];
  /**
   * Minimum size in bytes of every part but the last (checked at Complete).
   * @defaultValue 102400 (100 KiB, OBS)
   */
  minPartSize?: number;
  /**
   * Largest CopyObject source in bytes.
   * @defaultValue 5368709120 (5 GiB)
   */
  copyObjectMaxBytes?: number;
  /**
   * Refuse PutObject and UploadPart without `Content-MD5` (400 `InvalidRequest`, as S3 answers when
   * the header is mandatory). obsq's tests turn it on so a client or worker that stops sending the
   * header fails; SDK compatibility tests leave it off (the SDKs send no MD5 for plain PUTs).
   * @defaultValue false
   */
  requireContentMd5?: boolean;
  /** Fault rules active from the start; see {@link FaultSpec}. */
  faults?: FaultSpec[];
  /**
   * Seed of the fault PRNG.
   * @defaultValue 1
   */
  seed?: number;
  /**
   * Host names under which `Host: <bucket>.<name>[:port]` means virtual-hosted addressing.
   * @defaultValue `['obs.localhost', 'localhost']` plus `host` when it is a DNS name
   */
  virtualHostBases?: string[];
  /**
   * The SIS real-time ASR stand-in, started alongside on its own port: `false` leaves it out;
   * an object sets its port, credentials, timeouts and faults (see `SisServerOptions`).
   * @defaultValue started on a free port, region `region`, random project id and AK/SK
   */
  sis?: false | DevstackSisOptions;
  /** @defaultValue pino at `warn` on stderr */
  logger?: Logger;
}

/** SIS server options under the devstack's control; the rest follow the devstack's own. */
export type DevstackSisOptions = Partial<Omit<SisServerOptions, 'host' | 'region' | 'logger'>>;

/** Connection details of the SIS RASR websocket server (test credentials only). */
export interface DevstackSisEndpoint {
  /** `ws://127.0.0.1:PORT`; clients append `/v1/{projectId}/rasr/{mode}`. */
  endpoint: string;
  region: string;
  projectId: string;
  ak: string;
  sk: string;
  port: number;
  /** Open websocket connections right now. */
  readonly connectionCount: number;
  /** Replaces the SIS fault settings (drop the socket, stay silent). */
  setFaults: SisServer['setFaults'];
}

/** Connection details of the OBS-compatible server. */
export interface DevstackObsEndpoint {
  /** `http://127.0.0.1:PORT` (path-style; clients that sign OBS-natively need the virtual-hosted one). */
  endpoint: string;
  /**
   * `http://obs.localhost:PORT`: buckets are `bucket.obs.localhost:PORT` (virtual-hosted), which
   * the OBS native signature needs. `*.localhost` must resolve to 127.0.0.1 in the client
   * (ObsClient does that itself; for other clients pass a custom `lookup`).
   */
  virtualHostedEndpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  port: number;
}

/** Request and injected-fault counters, by operation name (`UploadPart`, ...). */
export interface DevstackStats {
  operations: Record<string, OperationStats>;
}

/** A running devstack. */
export interface Devstack extends AsyncDisposable {
  obs: DevstackObsEndpoint;
  /** Where the data lives. */
  dataDir: string;
  /** The SIS real-time ASR stand-in; undefined when started with `sis: false`. */
  sis?: DevstackSisEndpoint;
  /** Replaces every fault rule (and restarts the PRNG, with `seed` when given). */
  setFaults(faults: FaultSpec[], opts?: { seed?: number }): void;
  /** Counters since start or the last `resetStats()`. */
  stats(): DevstackStats;
  resetStats(): void;
  /** Current runtime settings (a copy). */
  settings(): ObsSettings;
  /** Changes `minPartSize` / `copyObjectMaxBytes` / `requireContentMd5` at runtime. */
  configure(patch: Partial<ObsSettings>): ObsSettings;
  /** Stops the servers (destroying open sockets) and removes a temp data dir. Idempotent. */
  close(): Promise<void>;
}

const DEFAULTS = {
  obsPort: 0,
  host: '127.0.0.1',
  region: 'cn-north-4',
  minPartSize: 100 * 1024,
  copyObjectMaxBytes: 5 * 1024 * 1024 * 1024,
  requireContentMd5: false as boolean,
  seed: 1,
} satisfies Partial<DevstackOptions>;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomKey(length: number, alphabet: string): string {
  const bytes = randomBytes(length);
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}

function validate(o: typeof DEFAULTS & DevstackOptions): void {
  const issues: ValidationIssue[] = [];
  const nonNegInt = (field: keyof DevstackOptions, v: unknown) => {
    if (!Number.isSafeInteger(v) || (v as number) < 0) issues.push({ field, rule: 'must be a non-negative integer' });
  };
  nonNegInt('obsPort', o.obsPort);
  if (o.obsPort > 65535) issues.push({ field: 'obsPort', rule: 'must be at most 65535' });
  nonNegInt('minPartSize', o.minPartSize);
  nonNegInt('copyObjectMaxBytes', o.copyObjectMaxBytes);
  if (typeof o.requireContentMd5 !== 'boolean') issues.push({ field: 'requireContentMd5', rule: 'must be a boolean' });
  if (!Number.isInteger(o.seed)) issues.push({ field: 'seed', rule: 'must be an integer' });
  if (!o.region) issues.push({ field: 'region', rule: 'must not be empty' });
  if (o.accessKeyId !== undefined && !/^[\x21-\x7e]+$/.test(o.accessKeyId)) {
    issues.push({ field: 'accessKeyId', rule: 'must be printable ASCII without spaces' });
  }
  if (o.secretAccessKey !== undefined && o.secretAccessKey.length === 0) {
    issues.push({ field: 'secretAccessKey', rule: 'must not be empty' });
  }
  if (o.accessKeyId !== undefined && o.secretAccessKey === undefined) {
    issues.push({ field: 'secretAccessKey', rule: 'is required when accessKeyId is given' });
  }
  if (o.sis) {
    const p = o.sis.port;
    if (p !== undefined && (!Number.isSafeInteger(p) || p < 0 || p > 65535)) issues.push({ field: 'sis.port', rule: 'must be an integer in 0..65535' });
    if ((o.sis.ak === undefined) !== (o.sis.sk === undefined)) issues.push({ field: 'sis.ak/sis.sk', rule: 'must be given together' });
  }
  if (issues.length > 0) throw new ValidationError(issues);
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return isIP(host) === 6 ? `[${host}]` : host;
}

function sisEndpoint(server: SisServer): DevstackSisEndpoint {
  return {
    endpoint: server.endpoint,
    region: server.region,
    projectId: server.projectId,
    ak: server.ak,
    sk: server.sk,
    port: server.port,
    get connectionCount() {
      return server.connectionCount;
    },
    setFaults: (faults) => server.setFaults(faults),
  };
}

/**
 * Starts the local OBS-compatible object store and the SIS real-time ASR stand-in.
 *
 * @example
 * await using ds = await startDevstack({ buckets: ['media'] });
 * // ds.obs.endpoint, ds.obs.accessKeyId, ds.obs.secretAccessKey
 * // ds.sis?.endpoint, ds.sis?.projectId, ds.sis?.ak, ds.sis?.sk
 */
export async function startDevstack(options: DevstackOptions = {}): Promise<Devstack> {
  const o = { ...DEFAULTS, ...options };
  validate(o);
  const logger = o.logger ?? pino({ level: 'warn', base: { service: 'devstack' } }, pino.destination(2));
  const ownsDir = o.dataDir === undefined;
  const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'obsq-devstack-')));
  const releasers: Array<[string, () => Promise<void>]> = [];
  if (ownsDir) releasers.push(['dataDir', () => rm(dataDir, { recursive: true, force: true })]);

  try {
    const store = await FileStore.open(dataDir);
    for (const bucket of o.buckets ?? []) await store.createBucket(bucket);
    const settings: ObsSettings = {
      minPartSize: o.minPartSize,
      copyObjectMaxBytes: o.copyObjectMaxBytes,
      requireContentMd5: o.requireContentMd5,
    };
    const faults = new FaultInjector(o.faults ?? [], o.seed);
    const accessKeyId = o.accessKeyId ?? randomKey(20, ALNUM);
    const secretAccessKey = o.secretAccessKey ?? randomBytes(30).toString('base64');
    const baseHosts = (
      o.virtualHostBases ?? ['obs.localhost', 'localhost', ...(isIP(o.host) === 0 && o.host !== 'localhost' ? [o.host] : [])]
    ).map((h) => h.toLowerCase());
    const obsServer = await ObsServer.listen(
      { store, settings, faults, auth: { accessKeyId, secretAccessKey, region: o.region }, baseHosts, logger },
      o.obsPort,
      o.host,
    );
    releasers.push(['obs server', () => obsServer.close()]);
    const port = obsServer.port;
    logger.info({ port, dataDir, region: o.region }, 'devstack obs server listening');

    let sis: SisServer | undefined;
    if (o.sis !== false) {
      const sisOpts = o.sis ?? {};
      sis = await startSisServer({
        ...sisOpts,
        host: o.host,
        region: o.region,
        projectId: sisOpts.projectId ?? randomBytes(16).toString('hex'),
        ak: sisOpts.ak ?? randomKey(20, ALNUM),
        sk: sisOpts.sk ?? randomBytes(30).toString('base64'),
        logger,
      });
      releasers.push(['sis server', () => sis!.close()]);
      logger.info({ port: sis.port, region: o.region }, 'devstack sis server listening');
    }

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        const errors: Error[] = [];
        // LIFO: servers first, then the data they served.
        for (const [name, release] of [...releasers].reverse()) {
          try {
            await release();
          } catch (err) {
            errors.push(new Error(`devstack: closing ${name} failed`, { cause: coerceError(err) }));
          }
        }
        if (errors.length > 0) throw new AggregateError(errors, 'devstack close failed');
      })());

    return {
      obs: {
        endpoint: `http://${urlHost(o.host)}:${port}`,
        virtualHostedEndpoint: `http://obs.localhost:${port}`,
        region: o.region,
        accessKeyId,
        secretAccessKey,
        port,
      },
      dataDir,
      ...(sis === undefined ? {} : { sis: sisEndpoint(sis) }),
      setFaults: (list, opts = {}) => faults.set(list, opts.seed),
      stats: () => ({ operations: faults.stats() }),
      resetStats: () => faults.resetStats(),
      settings: () => ({ ...settings }),
      configure: (patch) => {
        const parsed = settingsPatchSchema.safeParse(patch);
        if (!parsed.success) {
          throw new ValidationError(parsed.error.issues.map((i) => ({ field: i.path.join('.') || 'patch', rule: i.message })));
        }
        Object.assign(settings, parsed.data);
        return { ...settings };
      },
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (err) {
    for (const [, release] of releasers.reverse()) await release().catch(() => undefined);
    throw err;
  }
}
