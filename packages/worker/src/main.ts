import { coerceError, createLogger, flushLogger, Lifecycle, loadWorkerConfig, OBSQ_VERSION } from '@obsq/shared';
import { startWorkerService } from './service/workerService.js';

/**
 * `pnpm obsq worker`: config parsed once here, signals owned here. Exit 0 after a graceful stop,
 * 1 on a startup error (config messages name the variable); a second signal forces 128+signo.
 */
export async function runWorkerMain(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let config;
  try {
    config = loadWorkerConfig(env);
  } catch (err) {
    process.stderr.write(`obsq worker: ${coerceError(err).message}\n`);
    return 1;
  }
  const logger = createLogger({ service: 'obsq-worker', version: OBSQ_VERSION, level: config.logLevel });
  process.on('unhandledRejection', (reason) => logger.error({ err: coerceError(reason) }, 'unhandled rejection'));
  process.on('uncaughtException', (err) => logger.fatal({ err }, 'uncaught exception'));
  // The service drains until OBSQ_SHUTDOWN_TIMEOUT_MS, then aborts; the lifecycle's own deadline
  // leaves room for closing connections after that.
  const lifecycle = new Lifecycle({ logger, timeoutMs: config.shutdownTimeoutMs + 10_000 });
  lifecycle.installSignalHandlers({ onForce: () => logger.flush() });
  let service;
  try {
    service = await startWorkerService(config, { logger });
  } catch (err) {
    logger.fatal({ err }, 'worker failed to start');
    await flushLogger(logger);
    return 1;
  }
  lifecycle.register('worker service', () => service.close());
  const report = await lifecycle.whenShutdown();
  logger.info({ ok: report.ok }, 'worker stopped');
  await flushLogger(logger);
  return report.ok ? 0 : 1;
}
