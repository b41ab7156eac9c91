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
  schedule list [--json] | schedule show <id> [--json] | schedule remove <id> [--forget]
  result <jobId> [--json] [--wait]
`;

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
    case 'result': {
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
        const run = { upload: uploadCommand, copy: copyCommand, transcribe: transcribeCommand, schedule: scheduleCommand, result: resultCommand }[command];
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
