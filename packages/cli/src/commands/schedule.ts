import { createHash } from 'node:crypto';
import { parseFlags } from '../flags.js';
import type { AbortStaleUploadsSchedule, TranscriptionSchedule, TranscriptionScheduleStatus } from '@obsq/producer';
import { ValidationError, type Logger, type ProducerConfig } from '@obsq/shared';
import { parseObjectUrl } from '../obsUrl.js';
import { out } from '../output.js';
import { durationFlag } from '../usage.js';
import { withProducer } from '../withProducer.js';
import { readRequestFlags, REQUEST_FLAGS } from './transcribe.js';

const USAGE = `usage:
  obsq schedule transcriptions --cron "0 */5 * * * *" obs://bucket/prefix/ --out obs://bucket/out/
        [--id ID] [--tz UTC] [--suffix .wav,.raw] [--property P] [--audio-format F] [--engine sis|local] [--format srt,vtt,json,txt]
        [--max-tries 5] [--retry-delay-ms 60000] [--json]
  obsq schedule abort-stale-uploads --cron "0 0 3 * * *" obs://bucket/[prefix] [--older-than 24h] [--id ID] [--tz UTC] [--json]
  obsq schedule list [--json]
  obsq schedule show <id> [--json]
  obsq schedule remove <id> [--forget]
`;

/** `obsq schedule --help`. */
export const SCHEDULE_HELP = `${USAGE}
transcriptions:      every tick, transcribe each new or changed object under the prefix.
abort-stale-uploads: every tick, abort the multipart uploads under the prefix older than
                     --older-than (default 24h); the worker's obsq_multipart_uploads_open gauge
                     reports the open uploads each run saw.
Without --id the id is derived from the arguments, so running the same command again replaces the
schedule.

Example:
  obsq schedule abort-stale-uploads --cron "0 0 3 * * *" obs://ingest/ --older-than 24h
  obsq schedule list

Exit codes: 0 saved, listed or removed, 1 no such schedule (remove), 2 bad flags or configuration.
`;

function describeUploads(s: AbortStaleUploadsSchedule): string {
  const next = s.next === undefined ? '' : ` next ${new Date(s.next).toISOString()}`;
  return `${s.id}  "${s.cron}" ${s.tz}  abort uploads under obs://${s.bucket}/${s.prefix} older than ${s.olderThanSeconds}s${next}`;
}

function describe(s: TranscriptionSchedule): string {
  const next = s.next === undefined ? '' : ` next ${new Date(s.next).toISOString()}`;
  return `${s.id}  "${s.cron}" ${s.tz}  obs://${s.bucket}/${s.prefix} (${s.suffixes.join(',')}) -> obs://${s.output.bucket}/${s.output.prefix} [${s.output.formats.join(',')}] ${s.engine}${next}`;
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString();
}

function describeStatus(st: TranscriptionScheduleStatus): string[] {
  const c = st.counts;
  const lines = [
    describe(st.schedule),
    `last tick ${iso(st.lastTickAt)}  next tick ${iso(st.nextTickAt)}  ticks ${st.ticks}  last enqueued ${st.lastEnqueued}`,
    `objects: done ${c.done}, pending ${c.pending}, failed ${c.failed}, given-up ${c['given-up']}  (max tries ${st.schedule.maxTries})`,
  ];
  if (st.lastErrors.length > 0) lines.push('last errors:');
  for (const e of st.lastErrors.slice(0, 10)) {
    lines.push(`  ${iso(e.at)}  obs://${e.bucket}/${e.key} try ${e.try}${e.givenUp ? ' (given up)' : ''}: ${e.code} ${e.message}`);
  }
  return lines;
}

/** A positive integer flag, or undefined when absent; throws a message naming the flag. */
function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new ValidationError([{ field: `--${name}`, rule: `must be a positive integer (got ${JSON.stringify(v)})` }]);
  return n;
}

/**
 * `obsq schedule transcriptions|list|show|remove`: cron schedules that transcribe every new or changed
 * object under a prefix. Without `--id` the id is derived from source and output, so running the
 * same command again replaces the schedule instead of adding a second one.
 */
export async function scheduleCommand(argv: string[], config: ProducerConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') {
    const { values } = parseFlags({ args: rest, options: { json: { type: 'boolean', default: false } } });
    return withProducer(config, logger, async (producer) => {
      const all = await producer.listTranscriptionSchedules();
      const uploads = await producer.listAbortStaleUploadsSchedules();
      if (values.json) out(JSON.stringify([...all.map((s) => ({ kind: 'transcriptions', ...s })), ...uploads.map((s) => ({ kind: 'abort-stale-uploads', ...s }))]));
      else if (all.length === 0 && uploads.length === 0) out('no schedules');
      else {
        for (const s of all) out(describe(s));
        for (const s of uploads) out(describeUploads(s));
      }
      return 0;
    });
  }
  if (sub === 'show') {
    const { values, positionals } = parseFlags({ args: rest, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
    const [id] = positionals;
    if (!id || positionals.length !== 1) {
      process.stderr.write(USAGE);
      return 2;
    }
    return withProducer(config, logger, async (producer) => {
      const st = await producer.transcriptionScheduleStatus(id);
      if (!st) {
        process.stderr.write(`no schedule ${JSON.stringify(id)}\n`);
        return 1;
      }
      if (values.json) out(JSON.stringify(st));
      else for (const line of describeStatus(st)) out(line);
      return 0;
    });
  }
  if (sub === 'remove') {
    const { values, positionals } = parseFlags({ args: rest, allowPositionals: true, options: { forget: { type: 'boolean', default: false } } });
    const [id] = positionals;
    if (!id || positionals.length !== 1) {
      process.stderr.write(USAGE);
      return 2;
    }
    return withProducer(config, logger, async (producer) => {
      const removed = (await producer.removeTranscriptionSchedule(id, { forget: values.forget })) || (await producer.removeAbortStaleUploadsSchedule(id));
      if (!removed) {
        process.stderr.write(`no schedule ${JSON.stringify(id)}\n`);
        return 1;
      }
      out(`removed ${id}`);
      return 0;
    });
  }
  if (sub === 'abort-stale-uploads') {
    const { values, positionals } = parseFlags({
      args: rest,
      allowPositionals: true,
      options: { cron: { type: 'string' }, tz: { type: 'string' }, id: { type: 'string' }, 'older-than': { type: 'string', default: '24h' }, json: { type: 'boolean', default: false } },
    });
    const [where] = positionals;
    if (!where || positionals.length !== 1 || values.cron === undefined) {
      process.stderr.write(USAGE);
      return 2;
    }
    const loc = parseObjectUrl(where, 'location', { allowPrefix: true });
    const olderThanMs = durationFlag(values['older-than'], 'older-than');
    const id = values.id ?? `uploads-${loc.bucket}-${createHash('sha256').update(`${loc.bucket}/${loc.key}`).digest('hex').slice(0, 10)}`;
    return withProducer(config, logger, async (producer) => {
      const saved = await producer.scheduleAbortStaleUploads({ id, cron: values.cron!, ...(values.tz === undefined ? {} : { tz: values.tz }), bucket: loc.bucket, prefix: loc.key, olderThanMs });
      out(values.json ? JSON.stringify(saved) : describeUploads(saved));
      return 0;
    });
  }
  if (sub !== 'transcriptions') {
    process.stderr.write(USAGE);
    return 2;
  }
  const { values, positionals } = parseFlags({
    args: rest,
    allowPositionals: true,
    options: {
      ...REQUEST_FLAGS,
      cron: { type: 'string' },
      tz: { type: 'string' },
      id: { type: 'string' },
      suffix: { type: 'string' },
      'max-tries': { type: 'string' },
      'retry-delay-ms': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const [from] = positionals;
  if (!from || positionals.length !== 1 || values.cron === undefined || values.out === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  const source = parseObjectUrl(from, 'source', { allowPrefix: true });
  const flags = readRequestFlags(values, env);
  const maxTries = intFlag('max-tries', values['max-tries']);
  const retryDelayMs = intFlag('retry-delay-ms', values['retry-delay-ms']);
  const output = flags.output!;
  const id =
    values.id ??
    `tr-${source.bucket}-${createHash('sha256').update(`${source.bucket}/${source.key}\n${output.bucket}/${output.prefix}`).digest('hex').slice(0, 10)}`;
  return withProducer(config, logger, async (producer) => {
    const saved = await producer.scheduleTranscriptions({
      id,
      cron: values.cron!,
      ...(values.tz === undefined ? {} : { tz: values.tz }),
      bucket: source.bucket,
      prefix: source.key,
      ...(values.suffix === undefined ? {} : { suffixes: values.suffix.split(',').map((s) => s.trim()).filter(Boolean) }),
      request: flags.request,
      output,
      engine: flags.engine,
      ...(flags.mode === undefined ? {} : { mode: flags.mode }),
      ...(maxTries === undefined ? {} : { maxTries }),
      ...(retryDelayMs === undefined ? {} : { retryDelayMs }),
    });
    out(values.json ? JSON.stringify(saved) : describe(saved));
    return 0;
  });
}
