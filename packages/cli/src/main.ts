#!/usr/bin/env node
// Commands are loaded on demand (`import()`): `obsq --help` loads nothing else, `obsq worker` loads
// neither the devstack nor the producer. The build turns each into its own chunk.

const USAGE = `obsq <command> [options]

Commands:
  devstack [--obs-port N] [--sis-port N | --no-sis] [--data DIR] [--access-key AK --secret-key SK] [--buckets a,b]
                                   local OBS-compatible (and SIS) servers; prints one JSON line
  worker                           run the workers (config from OBSQ_* variables)
  demo [--size MiB] [--workers N]  the main job end to end on a private local stack
  upload <file|url> obs://bucket/key [--part-size 8MiB] [--wait] [--json]
  upload <dir|file|url>... obs://bucket/prefix/ [--manifest F] [--include G] [--exclude G]
         [--skip-existing none|size|checksum] [--multipart-threshold SIZE] [--batch-id ID] [--wait] [--json]
  batch status|wait|retry <batchId> [--json]
  copy obs://src-bucket/key obs://dst-bucket/key [--replace-metadata k=v ...] [--wait] [--json]
  transcribe <obs://bucket/key|file|url> [--property P] [--audio-format F] [--engine sis|local]
             [--out obs://bucket/prefix/] [--format srt,vtt,json,txt] [--wait] [--json]
  schedule transcriptions --cron "0 */5 * * * *" obs://bucket/prefix/ --out obs://bucket/out/ [--id ID]
  schedule list [--json] | schedule remove <id> [--forget]
  result <jobId> [--json] [--wait]
`;

type ProducerCommand = 'upload' | 'copy' | 'transcribe' | 'schedule' | 'result' | 'batch';

async function loadCommand(command: ProducerCommand) {
  switch (command) {
    case 'upload':
      return (await import('./commands/upload.js')).uploadCommand;
    case 'copy':
      return (await import('./commands/copy.js')).copyCommand;
    case 'transcribe':
      return (await import('./commands/transcribe.js')).transcribeCommand;
    case 'schedule':
      return (await import('./commands/schedule.js')).scheduleCommand;
    case 'result':
      return (await import('./commands/result.js')).resultCommand;
    case 'batch':
      return (await import('./commands/batch.js')).batchCommand;
  }
}

/** Dispatches a CLI command; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'devstack':
      return (await import('@obsq/devstack')).runDevstackCli(rest);
    case 'worker':
      return (await import('@obsq/worker')).runWorkerMain(process.env);
    case 'demo':
      return (await import('./commands/demo.js')).demoCommand(rest);
    case 'upload':
    case 'copy':
    case 'transcribe':
    case 'schedule':
    case 'result':
    case 'batch': {
      const { coerceError, createLogger, flushLogger, loadProducerConfig, OBSQ_VERSION } = await import('@obsq/shared');
      let config;
      try {
        config = loadProducerConfig(process.env);
      } catch (err) {
        process.stderr.write(`obsq ${command}: ${coerceError(err).message}\n`);
        return 2;
      }
      const { pino } = await import('pino');
      // Logs go to stderr: stdout carries the command's output (job id, JSON record).
      const logger = createLogger({
        service: 'obsq-cli',
        version: OBSQ_VERSION,
        level: config.logLevel === 'info' ? 'warn' : config.logLevel,
        destination: pino.destination({ fd: 2, sync: true }),
      });
      try {
        const run = await loadCommand(command);
        return await run(rest, config, logger);
      } catch (err) {
        const e = coerceError(err);
        process.stderr.write(`obsq ${command}: ${(e as { code?: string }).code ? `[${(e as { code?: string }).code}] ` : ''}${e.message}\n`);
        return 1;
      } finally {
        await flushLogger(logger);
      }
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`obsq: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

process.exit(await main(process.argv.slice(2)));
