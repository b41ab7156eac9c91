import { stat } from 'node:fs/promises';
import { parseFlags } from '../flags.js';
import type { TranscriptionAudio, TranscriptionEngine } from '@obsq/producer';
import {
  isSuccess,
  RASR_AUDIO_FORMATS,
  RASR_MODES,
  TRANSCRIPT_FORMATS,
  ValidationError,
  type Logger,
  type ProducerConfig,
  type RasrMode,
  type RasrRequestInput,
  type StoredResult,
  type TranscriptFormat,
  type ValidationIssue,
} from '@obsq/shared';
import { parseObjectUrl } from '../obsUrl.js';
import { out } from '../output.js';
import { finishEnqueued, WAIT_FLAGS } from '../waitFlags.js';
import { withProducer } from '../withProducer.js';
import { waitAndPrintBatch } from './batch.js';

const USAGE =
  'usage: obsq transcribe <obs://bucket/key | file | url | obs://bucket/prefix/ | dir> [--batch-id ID] [--skip-existing] [--property P] [--audio-format F] [--engine sis|local] ' +
  '[--out obs://bucket/prefix/] [--format srt,vtt,json,txt] [--mode continue-stream] [--add-punc] [--need-word-info] ' +
  '[--vocabulary-id ID] [--job-id ID] [--wait] [--json] [--timeout-ms N]\n';

/** Flags shared by `transcribe` and `schedule transcriptions` that make up the RASR request. */
export const REQUEST_FLAGS = {
  property: { type: 'string' },
  'audio-format': { type: 'string', default: 'pcm16k16bit' },
  engine: { type: 'string' },
  mode: { type: 'string' },
  'add-punc': { type: 'boolean' },
  'need-word-info': { type: 'boolean' },
  'interim-results': { type: 'boolean' },
  'vocabulary-id': { type: 'string' },
  out: { type: 'string' },
  format: { type: 'string' },
} as const;

type RequestFlagValues = {
  property?: string | undefined;
  'audio-format'?: string | undefined;
  engine?: string | undefined;
  mode?: string | undefined;
  'add-punc'?: boolean | undefined;
  'need-word-info'?: boolean | undefined;
  'interim-results'?: boolean | undefined;
  'vocabulary-id'?: string | undefined;
  out?: string | undefined;
  format?: string | undefined;
};

/** What the request flags mean: RASR request, engine, mode and output, checked for the CLI's own rules. */
export interface RequestFlags {
  request: RasrRequestInput;
  engine: TranscriptionEngine;
  mode?: RasrMode;
  output?: { bucket: string; prefix: string; formats: TranscriptFormat[] };
}

/**
 * Reads the request flags. `--property` defaults to SIS's general model at the audio format's rate;
 * the engine defaults to `OBSQ_TRANSCRIBER` (then `sis`). Field rules (ranges, rate match) are the
 * catalog's, checked by the producer.
 */
export function readRequestFlags(values: RequestFlagValues, env: NodeJS.ProcessEnv): RequestFlags {
  const issues: ValidationIssue[] = [];
  const audioFormat = values['audio-format'] ?? 'pcm16k16bit';
  if (!(RASR_AUDIO_FORMATS as readonly string[]).includes(audioFormat)) {
    issues.push({ field: '--audio-format', rule: `must be one of ${RASR_AUDIO_FORMATS.join(', ')} (got ${JSON.stringify(audioFormat)})` });
  }
  const engine = values.engine ?? env.OBSQ_TRANSCRIBER ?? 'sis';
  if (engine !== 'sis' && engine !== 'local') {
    issues.push({ field: values.engine === undefined ? 'OBSQ_TRANSCRIBER' : '--engine', rule: `must be "sis" or "local" (got ${JSON.stringify(engine)})` });
  }
  if (values.mode !== undefined && !(RASR_MODES as readonly string[]).includes(values.mode)) {
    issues.push({ field: '--mode', rule: `must be one of ${RASR_MODES.join(', ')} (got ${JSON.stringify(values.mode)})` });
  }
  let formats: TranscriptFormat[] = [...TRANSCRIPT_FORMATS];
  if (values.format !== undefined) {
    const list = values.format.split(',').map((f) => f.trim()).filter(Boolean);
    const bad = list.filter((f) => !(TRANSCRIPT_FORMATS as readonly string[]).includes(f));
    if (bad.length > 0 || list.length === 0) issues.push({ field: '--format', rule: `must list some of ${TRANSCRIPT_FORMATS.join(',')} (got ${JSON.stringify(values.format)})` });
    formats = list as TranscriptFormat[];
    if (values.out === undefined) issues.push({ field: '--format', rule: 'needs --out obs://bucket/prefix/ (where the transcripts go)' });
  }
  let output: RequestFlags['output'];
  if (values.out !== undefined) {
    try {
      const o = parseObjectUrl(values.out, '--out', { allowPrefix: true });
      output = { bucket: o.bucket, prefix: o.key, formats };
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      issues.push(...err.issues);
    }
  }
  if (issues.length > 0) throw new ValidationError(issues);
  const rate = audioFormat.includes('16k') ? '16k' : '8k';
  return {
    request: {
      audioFormat,
      property: values.property ?? `chinese_${rate}_general`,
      ...(values['add-punc'] ? { addPunc: 'yes' as const } : {}),
      ...(values['need-word-info'] ? { needWordInfo: 'yes' as const } : {}),
      ...(values['interim-results'] ? { interimResults: 'yes' as const } : {}),
      ...(values['vocabulary-id'] !== undefined ? { vocabularyId: values['vocabulary-id'] } : {}),
    },
    engine: engine as TranscriptionEngine,
    ...(values.mode === undefined ? {} : { mode: values.mode as RasrMode }),
    ...(output ? { output } : {}),
  };
}

interface TranscriptBody {
  trace_id: string;
  engine: string;
  audio_duration_ms: number;
  text: string;
  outputs: Array<{ format: string; bucket: string; key: string }>;
}

function printTranscript(rec: StoredResult<TranscriptBody>, json: boolean): number {
  const r = rec.result;
  if (json) out(JSON.stringify(r));
  else {
    out(`job ${rec.jobId} (${rec.queue}): ${r.status} ${r.reason}${r.errorCode ? ` ${r.errorCode}: ${r.errorMessage}` : ''}`);
    if (r.body) {
      out(`trace ${r.body.trace_id}, ${r.body.engine}, ${(r.body.audio_duration_ms / 1000).toFixed(1)} s of audio`);
      out(r.body.text);
      for (const o of r.body.outputs) out(`${o.format.padEnd(4)} obs://${o.bucket}/${o.key}`);
    }
  }
  return isSuccess(r) ? 0 : 1;
}

/** `obsq transcribe <obs://bucket/key | file | url> [...]`: enqueues one transcription; `--wait` prints its record. */
export async function transcribeCommand(argv: string[], config: ProducerConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseFlags({
    args: argv,
    allowPositionals: true,
    options: {
      ...REQUEST_FLAGS,
      ...WAIT_FLAGS,
      // Transcriptions may take as long as their audio: a longer default wait.
      'timeout-ms': { type: 'string', default: '7200000' },
      'batch-id': { type: 'string' },
      'skip-existing': { type: 'boolean', default: false },
    },
  });
  const [from] = positionals;
  if (!from || positionals.length !== 1) {
    process.stderr.write(USAGE);
    return 2;
  }
  const flags = readRequestFlags(values, env);
  // A prefix (obs://bucket/prefix/) or a directory is a batch: every audio file under it, once.
  const isPrefix = /^(obs|s3):\/\/[^/]+(\/.*)?\/$/.test(from) || /^(obs|s3):\/\/[^/]+$/.test(from);
  const isDir = !/^(obs|s3|https?):\/\//.test(from) && (await stat(from).then((st) => st.isDirectory(), () => false));
  if (isPrefix || isDir) {
    if (!flags.output) throw new ValidationError([{ field: '--out', rule: 'is required to transcribe a prefix or directory (where the transcripts go)' }]);
    if (values['job-id'] !== undefined) throw new ValidationError([{ field: '--job-id', rule: 'applies to one file; name a batch with --batch-id' }]);
    const output = flags.output;
    const source = isPrefix ? parseObjectUrl(from, 'source', { allowPrefix: true }) : undefined;
    return withProducer(config, logger, async (producer) => {
      const enq = await producer.enqueueTranscriptionBatch({
        source: source ? { bucket: source.bucket, prefix: source.key } : { dir: from },
        output,
        request: flags.request,
        ...(flags.engine ? { engine: flags.engine } : {}),
        ...(flags.mode ? { mode: flags.mode } : {}),
        ...(values['batch-id'] ? { batchId: values['batch-id'] } : {}),
        skipExisting: values['skip-existing'],
      });
      if (!values.wait) {
        out(values.json ? JSON.stringify({ ...enq, record: enq.record?.result }) : enq.batchId);
        return 0;
      }
      if (!values.json) out(`batch ${enq.batchId}: ${enq.enqueued} audio files enqueued, ${enq.skipped} already transcribed`);
      return waitAndPrintBatch(producer, enq.batchId, values.json, Number(values['timeout-ms']));
    });
  }
  for (const flag of ['batch-id'] as const) {
    if (values[flag] !== undefined) throw new ValidationError([{ field: `--${flag}`, rule: 'applies to a prefix or directory' }]);
  }
  if (values['skip-existing']) throw new ValidationError([{ field: '--skip-existing', rule: 'applies to a prefix or directory' }]);
  const audio: TranscriptionAudio = /^(obs|s3):\/\//.test(from)
    ? parseObjectUrl(from, 'audio')
    : /^https?:\/\//.test(from)
      ? { kind: 'url', url: from }
      : { kind: 'file', path: from };
  return withProducer(config, logger, async (producer) => {
    const enq = await producer.enqueueTranscription({ audio, ...flags, ...(values['job-id'] ? { jobId: values['job-id'] } : {}) });
    return finishEnqueued<TranscriptBody>({
      producer,
      enqueued: enq,
      values,
      summary: `${enq.jobId}: transcribing with ${enq.engine}`,
      progress: {
        label: 'transcribe',
        total: 1000,
        read: async () => {
          const p = (await producer.queue('transcribe-audio-file').getJob(enq.jobId))?.progress as { fraction?: number } | undefined;
          return Math.round((p?.fraction ?? 0) * 1000);
        },
      },
      print: printTranscript,
    });
  });
}
