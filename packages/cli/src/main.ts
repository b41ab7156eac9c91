#!/usr/bin/env node
// Commands are loaded on demand (`import()`): `obsq --help` loads nothing else, `obsq worker` loads
// neither the devstack nor the producer. The build turns each into its own chunk.
import type { Logger, ProducerConfig } from '@obsq/shared';

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
  schedule abort-stale-uploads --cron "0 0 3 * * *" obs://bucket/[prefix] --older-than 24h [--id ID]
  schedule list [--json] | schedule show <id> [--json] | schedule remove <id> [--forget]
  result <jobId> [--json] [--wait]

Operating (each has --help with an example and its exit codes):
  status [--json]                  queues, oldest waiting job, workers, failures of the last hour, open batches
  jobs list [--queue Q] [--state S] [--limit N] [--json] | jobs show <jobId> [--json]
  retry <jobId>... | retry --failed [--queue Q] [--since 1h]
  cancel <jobId|batchId>           stop an upload, copy, transcription or batch; record OBSQ_CANCELLED
  uploads list|abort obs://bucket[/prefix] [--older-than 24h] [--json]
  presign obs://bucket/key [--method GET|PUT|HEAD] [--expires 1h]
  ui [--host 127.0.0.1] [--port 3000] [--allow-actions]
`;

type CommandRun = (argv: string[], config: ProducerConfig, logger: Logger) => Promise<number>;

const PRODUCER_COMMANDS = ['upload', 'copy', 'transcribe', 'schedule', 'result', 'batch', 'status', 'jobs', 'retry', 'cancel', 'uploads', 'presign', 'ui'] as const;
type ProducerCommand = (typeof PRODUCER_COMMANDS)[number];

/** Commands where a ValidationError means bad input on the command line (exit 2). */
const OPERATOR_COMMANDS = new Set(['status', 'jobs', 'retry', 'cancel', 'uploads', 'presign', 'ui']);

/** The command's run function and, for those that have one, its own help (printed without config). */
async function loadCommand(command: ProducerCommand): Promise<{ run: CommandRun; help?: string }> {
  switch (command) {
    case 'upload': {
      const m = await import('./commands/upload.js');
      return { run: m.uploadCommand, help: m.UPLOAD_USAGE };
    }
    case 'copy':
      return { run: (await import('./commands/copy.js')).copyCommand };
    case 'transcribe':
      return { run: (await import('./commands/transcribe.js')).transcribeCommand };
    case 'schedule': {
      const m = await import('./commands/schedule.js');
      return { run: m.scheduleCommand, help: m.SCHEDULE_HELP };
    }
    case 'result':
      return { run: (await import('./commands/result.js')).resultCommand };
    case 'batch': {
      const m = await import('./commands/batch.js');
      return { run: m.batchCommand, help: m.BATCH_USAGE };
    }
    case 'status': {
      const m = await import('./commands/status.js');
      return { run: m.statusCommand, help: m.STATUS_HELP };
    }
    case 'jobs': {
      const m = await import('./commands/jobs.js');
      return { run: m.jobsCommand, help: m.JOBS_HELP };
    }
    case 'retry': {
      const m = await import('./commands/retry.js');
      return { run: m.retryCommand, help: m.RETRY_HELP };
    }
    case 'cancel': {
      const m = await import('./commands/cancel.js');
      return { run: m.cancelCommand, help: m.CANCEL_HELP };
    }
    case 'uploads': {
      const m = await import('./commands/uploads.js');
      return { run: m.uploadsCommand, help: m.UPLOADS_HELP };
    }
    case 'presign': {
      const m = await import('./commands/presign.js');
      return { run: m.presignCommand, help: m.PRESIGN_HELP };
    }
    case 'ui': {
      const m = await import('./commands/ui.js');
      return { run: m.uiCommand, help: m.UI_HELP };
    }
  }
}

const isProducerCommand = (c: string | undefined): c is ProducerCommand => (PRODUCER_COMMANDS as readonly string[]).includes(c ?? '');

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
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      break;
  }
  if (!isProducerCommand(command)) {
    process.stderr.write(`obsq: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 2;
  }
  const { run, help } = await loadCommand(command);
  const { UsageError, wantsHelp } = await import('./usage.js');
  if (help !== undefined && wantsHelp(rest)) {
    process.stdout.write(help.endsWith('\n') ? help : `${help}\n`);
    return 0;
  }
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
    return await run(rest, config, logger);
  } catch (err) {
    const e = coerceError(err);
    if (e instanceof UsageError || (OPERATOR_COMMANDS.has(command) && (e as { code?: string }).code === 'OBSQ_VALIDATION')) {
      process.stderr.write(`obsq ${command}: ${e.message} (see obsq ${command} --help)\n`);
      return 2;
    }
    process.stderr.write(`obsq ${command}: ${(e as { code?: string }).code ? `[${(e as { code?: string }).code}] ` : ''}${e.message}\n`);
    return 1;
  } finally {
    await flushLogger(logger);
  }
}

process.exit(await main(process.argv.slice(2)));
