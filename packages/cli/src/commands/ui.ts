import { Lifecycle, type Logger, type ProducerConfig } from '@obsq/shared';
import { out } from '../output.js';
import { EXIT, parseFlags, UsageError } from '../usage.js';
import { isLoopback } from '../ui/basicAuth.js';
import { startUiServer } from '../ui/uiServer.js';
import { withProducer } from '../withProducer.js';

/** `obsq ui --help`. */
export const UI_HELP = `usage: obsq ui [--host 127.0.0.1] [--port 3000] [--allow-actions]

Serves a queue UI in the browser: bull-board over every obsq queue at /queues (read-only unless
--allow-actions; retrying stays with obsq retry), and the GetResult records at /records (newest,
failures, one job with its record, open batches). Runs until SIGINT or SIGTERM.

  --host           address to bind; anything but loopback needs OBSQ_UI_USER and OBSQ_UI_PASSWORD
  --port           port, 0 picks a free one (printed)
  --allow-actions  let the board clean, remove, promote and pause

Variables: OBSQ_UI_USER, OBSQ_UI_PASSWORD (HTTP basic auth; used on any address when set).

Example:
  obsq ui --port 3000            # then open http://127.0.0.1:3000/
  OBSQ_UI_USER=ops OBSQ_UI_PASSWORD=... obsq ui --host 0.0.0.0

Exit codes: 0 stopped by a signal, 1 could not start (port in use, Redis unreachable), 2 bad
flags or configuration (missing credentials for a non-loopback address).
`;

/** `obsq ui [--host H] [--port N] [--allow-actions]`. */
export async function uiCommand(argv: string[], config: ProducerConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseFlags({
    args: argv,
    allowPositionals: true,
    options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '3000' }, 'allow-actions': { type: 'boolean', default: false } },
  });
  if (positionals.length > 0) throw new UsageError(`ui takes no arguments (got ${JSON.stringify(positionals[0])})`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer from 0 to 65535 (got ${JSON.stringify(values.port)})`);
  const user = env.OBSQ_UI_USER ?? '';
  const password = env.OBSQ_UI_PASSWORD ?? '';
  if ((user === '') !== (password === '')) throw new UsageError('set both OBSQ_UI_USER and OBSQ_UI_PASSWORD, or neither');
  if (user === '' && !isLoopback(values.host)) {
    throw new UsageError(`OBSQ_UI_USER and OBSQ_UI_PASSWORD are required to serve on ${values.host} (not a loopback address)`);
  }
  return withProducer(config, logger, async (producer) => {
    const lifecycle = new Lifecycle({ logger, timeoutMs: 10_000 });
    const server = await startUiServer({
      producer,
      host: values.host,
      port,
      allowActions: values['allow-actions'],
      ...(user ? { auth: { user, password } } : {}),
      logger,
    });
    lifecycle.register('ui server', () => server.close());
    const uninstall = lifecycle.installSignalHandlers();
    out(`obsq ui: ${server.url} (${values['allow-actions'] ? 'actions allowed' : 'read-only'}${user ? ', basic auth' : ''})`);
    const report = await lifecycle.whenShutdown();
    uninstall();
    return report.ok ? EXIT.ok : EXIT.failed;
  });
}
