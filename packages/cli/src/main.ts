#!/usr/bin/env node
import { coerceError, createLogger, flushLogger, loadProducerConfig, OBSQ_VERSION } from '@obsq/shared';
import { runDevstackCli } from '@obsq/devstack';
import { runWorkerMain } from '@obsq/worker';
import { pino } from 'pino';
import { copyCommand } from './commands/copy.js';
import { demoCommand } from './commands/demo.js';
import { resultCommand } from './commands/result.js';
import { scheduleCommand } from './commands/schedule.js';
import { transcribeCommand } from './commands/transcribe.js';
import { uploadCommand } from './commands/upload.js';
import { CANCEL_HELP, cancelCommand } from './commands/cancel.js';
import { JOBS_HELP, jobsCommand } from './commands/jobs.js';
import { PRESIGN_HELP, presignCommand } from './commands/presign.js';
import { RETRY_HELP, retryCommand } from './commands/retry.js';
import { SCHEDULE_HELP } from './commands/schedule.js';
import { STATUS_HELP, statusCommand } from './commands/status.js';
import { UI_HELP, uiCommand } from './commands/ui.js';
import { UPLOADS_HELP, uploadsCommand } from './commands/uploads.js';
import { UsageError, wantsHelp } from './usage.js';

const USAGE = `obsq <command> [options]

Commands:
  devstack [--obs-port N] [--sis-port N | --no-sis] [--data DIR] [--access-key AK --secret-key SK] [--buckets a,b]
                                   local OBS-compatible (and SIS) servers; prints one JSON line
  worker                           run the workers (config from OBSQ_* variables)
  demo [--size MiB] [--workers N]  the main job end to end on a private local stack
  upload <file|url> obs://bucket/key [--part-size 8MiB] [--wait] [--json]
  copy obs://src-bucket/key obs://dst-bucket/key [--replace-metadata k=v ...] [--wait] [--json]
  transcribe <obs://bucket/key|file|url> [--property P] [--audio-format F] [--engine sis|local]
             [--out obs://bucket/prefix/] [--format srt,vtt,json,txt] [--wait] [--json]
  schedule transcriptions --cron "0 */5 * * * *" obs://bucket/prefix/ --out obs://bucket/out/ [--id ID]
  schedule abort-stale-uploads --cron "0 0 3 * * *" obs://bucket/[prefix] --older-than 24h [--id ID]
  schedule list [--json] | schedule remove <id> [--forget]
  result <jobId> [--json] [--wait]

Operating (each has --help with an example and its exit codes):
  status [--json]                  queues, oldest waiting job, workers, failures of the last hour, open batches
  jobs list [--queue Q] [--state S] [--limit N] [--json] | jobs show <jobId> [--json]
  retry <jobId>... | retry --failed [--queue Q] [--since 1h]
  cancel <jobId|batchId>           stop an upload, copy or transcription; record OBSQ_CANCELLED
  uploads list|abort obs://bucket[/prefix] [--older-than 24h] [--json]
  presign obs://bucket/key [--method GET|PUT|HEAD] [--expires 1h]
  ui [--host 127.0.0.1] [--port 3000] [--allow-actions]
`;

/** Help of the commands that have their own (printed for `obsq <command> --help`, no config needed). */
const HELP: Record<string, string> = {
  status: STATUS_HELP,
  jobs: JOBS_HELP,
  retry: RETRY_HELP,
  cancel: CANCEL_HELP,
  uploads: UPLOADS_HELP,
  presign: PRESIGN_HELP,
  ui: UI_HELP,
  schedule: SCHEDULE_HELP,
};

/** Commands where a ValidationError means bad input on the command line (exit 2). */
const OPERATOR_COMMANDS = new Set(['status', 'jobs', 'retry', 'cancel', 'uploads', 'presign', 'ui']);

/** Dispatches a CLI command; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'devstack':
      return runDevstackCli(rest);
    case 'worker':
      return runWorkerMain(process.env);
    case 'demo':
      return demoCommand(rest);
    case 'upload':
    case 'copy':
    case 'transcribe':
    case 'schedule':
    case 'result':
    case 'status':
    case 'jobs':
    case 'retry':
    case 'cancel':
    case 'uploads':
    case 'presign':
    case 'ui': {
      if (HELP[command] !== undefined && wantsHelp(rest)) {
        process.stdout.write(HELP[command]);
        return 0;
      }
      let config;
      try {
        config = loadProducerConfig(process.env);
      } catch (err) {
        process.stderr.write(`obsq ${command}: ${coerceError(err).message}\n`);
        return 2;
      }
      // Logs go to stderr: stdout carries the command's output (job id, JSON record).
      const logger = createLogger({
        service: 'obsq-cli',
        version: OBSQ_VERSION,
        level: config.logLevel === 'info' ? 'warn' : config.logLevel,
        destination: pino.destination({ fd: 2, sync: true }),
      });
      try {
        const run = {
          upload: uploadCommand,
          copy: copyCommand,
          transcribe: transcribeCommand,
          schedule: scheduleCommand,
          result: resultCommand,
          status: statusCommand,
          jobs: jobsCommand,
          retry: retryCommand,
          cancel: cancelCommand,
          uploads: uploadsCommand,
          presign: presignCommand,
          ui: uiCommand,
        }[command];
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
