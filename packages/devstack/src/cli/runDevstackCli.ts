import { parseArgs } from 'node:util';
import { coerceError, ValidationError } from '@obsq/shared';
import { pino, type DestinationStream } from 'pino';
import { startDevstack, type DevstackOptions } from '../devstack/index.js';

/** Where the CLI writes; tests and the `obsq` CLI may pass their own streams. */
export interface DevstackCliIo {
  /** Receives exactly one JSON line when ready. @defaultValue process.stdout */
  stdout?: NodeJS.WritableStream;
  /** Logs and usage errors. @defaultValue process.stderr */
  stderr?: NodeJS.WritableStream;
  /**
   * Stops the devstack when aborted. When given, process signals are not handled.
   * @defaultValue SIGTERM / SIGINT
   */
  signal?: AbortSignal;
}

const USAGE =
  'usage: devstack [--obs-port N] [--host H] [--data DIR] [--access-key AK --secret-key SK] ' +
  '[--buckets a,b] [--min-part-size BYTES] [--require-content-md5] [--region R] [--sis-port N | --no-sis] [--log-level L]\n';

const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;

function intFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new ValidationError([{ field: `--${name}`, rule: 'must be a non-negative integer' }]);
  return Number(value);
}

/** Parses the flags into {@link DevstackOptions} (without logger). */
export function parseDevstackArgs(argv: string[]): DevstackOptions & { logLevel: string } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      'obs-port': { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      'access-key': { type: 'string' },
      'secret-key': { type: 'string' },
      buckets: { type: 'string' },
      'min-part-size': { type: 'string' },
      'require-content-md5': { type: 'boolean' },
      region: { type: 'string' },
      'sis-port': { type: 'string' },
      'no-sis': { type: 'boolean' },
      'log-level': { type: 'string' },
    },
  });
  if (values['no-sis'] && values['sis-port'] !== undefined) {
    throw new ValidationError([{ field: '--sis-port', rule: 'cannot be combined with --no-sis' }]);
  }
  const sisPort = intFlag('sis-port', values['sis-port']);
  if ((values['access-key'] === undefined) !== (values['secret-key'] === undefined)) {
    throw new ValidationError([{ field: '--access-key/--secret-key', rule: 'must be given together' }]);
  }
  const obsPort = intFlag('obs-port', values['obs-port']);
  const minPartSize = intFlag('min-part-size', values['min-part-size']);
  return {
    ...(obsPort !== undefined ? { obsPort } : {}),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(values.data !== undefined ? { dataDir: values.data } : {}),
    ...(values['access-key'] !== undefined ? { accessKeyId: values['access-key'] } : {}),
    ...(values['secret-key'] !== undefined ? { secretAccessKey: values['secret-key'] } : {}),
    ...(values.buckets !== undefined ? { buckets: values.buckets.split(',').map((b) => b.trim()).filter(Boolean) } : {}),
    ...(minPartSize !== undefined ? { minPartSize } : {}),
    ...(values['require-content-md5'] ? { requireContentMd5: true } : {}),
    ...(values.region !== undefined ? { region: values.region } : {}),
    ...(values['no-sis'] ? { sis: false as const } : sisPort !== undefined ? { sis: { port: sisPort } } : {}),
    logLevel: values['log-level'] ?? 'info',
  };
}

/**
 * `obsq devstack`: starts the devstack, prints ONE JSON line on stdout when ready
 * (`{"obs":{"endpoint","region","accessKeyId","secretAccessKey"},"sis":{"endpoint","region","projectId","ak","sk"}}`,
 * without `sis` under `--no-sis`), runs until SIGTERM/SIGINT
 * (or `io.signal`), closes and resolves the exit code: 0 after a clean stop, 2 for bad flags,
 * 1 when start or close fails. A second signal during close exits at once with 128 + signo.
 * Logs go to stderr only.
 */
export async function runDevstackCli(argv: string[], io: DevstackCliIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  let parsed: ReturnType<typeof parseDevstackArgs>;
  try {
    parsed = parseDevstackArgs(argv);
  } catch (err) {
    stderr.write(`devstack: ${coerceError(err).message}\n${USAGE}`);
    return 2;
  }
  const { logLevel, ...options } = parsed;
  const logger = pino(
    {
      level: logLevel,
      base: { service: 'devstack' },
      redact: ['secretAccessKey', 'req.headers.authorization'],
    },
    // Synchronous so the last lines are not lost when the process exits right after close.
    io.stderr ? (io.stderr as unknown as DestinationStream) : pino.destination({ dest: 2, sync: true }),
  );

  let devstack;
  try {
    devstack = await startDevstack({ ...options, logger });
  } catch (err) {
    logger.fatal({ err: coerceError(err) }, 'devstack failed to start');
    return 1;
  }

  const { endpoint, region, accessKeyId, secretAccessKey } = devstack.obs;
  const sis = devstack.sis && {
    endpoint: devstack.sis.endpoint,
    region: devstack.sis.region,
    projectId: devstack.sis.projectId,
    ak: devstack.sis.ak,
    sk: devstack.sis.sk,
  };
  stdout.write(`${JSON.stringify({ obs: { endpoint, region, accessKeyId, secretAccessKey }, ...(sis ? { sis } : {}) })}\n`);

  const stopped = await new Promise<NodeJS.Signals | 'abort'>((resolve) => {
    if (io.signal) {
      if (io.signal.aborted) resolve('abort');
      else io.signal.addEventListener('abort', () => resolve('abort'), { once: true });
      return;
    }
    const onSignal = (sig: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(sig);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

  logger.info({ signal: stopped }, 'devstack stopping');
  const force = (sig: NodeJS.Signals) => {
    logger.warn({ signal: sig }, 'second signal: exiting without cleanup');
    logger.flush();
    process.exit(128 + SIGNALS[sig as keyof typeof SIGNALS]);
  };
  if (stopped !== 'abort') {
    process.once('SIGTERM', force);
    process.once('SIGINT', force);
  }
  try {
    await devstack.close();
    logger.info('devstack stopped');
    return 0;
  } catch (err) {
    logger.error({ err: coerceError(err) }, 'devstack close failed');
    return 1;
  } finally {
    process.off('SIGTERM', force);
    process.off('SIGINT', force);
    logger.flush();
  }
}
