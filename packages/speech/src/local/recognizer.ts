import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { coerceError, ObsqError } from '@obsq/shared';
import { engineMissingError, pocketsphinxArgs, type PocketsphinxOptions } from './pocketsphinxEngine.js';
import { PocketsphinxOutputParser, utteranceToSegment, type SpeechSegment } from './pocketsphinxOutput.js';
import { Upsample16x2 } from './resample.js';

/** Options of {@link startRecognizer}. */
export interface RecognizerOptions extends PocketsphinxOptions {
  /** Sample rate of the PCM you will write (16-bit LE mono), in Hz. 8 kHz is upsampled to 16 kHz. */
  sampleRate: 8000 | 16000;
  /** Add `word_info` to each segment. @defaultValue false */
  needWordInfo?: boolean;
  /** Called with each sentence as soon as PocketSphinx finalises it (before {@link Recognizer.end}). */
  onSegment?: (segment: SpeechSegment) => void;
  /** Aborting kills the engine; `end()` then rejects with `OBSQ_ABORTED`. */
  signal?: AbortSignal;
  /**
   * How long `end()` may wait for the engine to finish the audio already written, in ms.
   * @defaultValue 60000
   */
  endTimeoutMs?: number;
  /**
   * An utterance whose `</s>` line has not arrived is taken as complete after stdout has been
   * quiet this long, in ms (PocketSphinx flushes each utterance in one write).
   * @defaultValue 250
   */
  quietFlushMs?: number;
}

/** A running PocketSphinx process decoding a PCM stream; segment times are ms from the first byte written. */
export interface Recognizer {
  /**
   * Queues PCM (16-bit LE mono at `sampleRate`). Ignored after `end()`/`abort()`. Returns false
   * when the engine's input buffer is full; await {@link Recognizer.drained} before writing more.
   */
  write(pcm: Buffer): boolean;
  /** Resolves when the engine's input buffer has room again (or the engine is gone). */
  drained(): Promise<void>;
  /** Closes the input, waits for the last sentences and resolves with every segment of the stream. */
  end(): Promise<SpeechSegment[]>;
  /** Kills the engine now; `end()` rejects with `reason` (default `OBSQ_ABORTED`). Idempotent. */
  abort(reason?: Error): void;
  /** Segments so far. */
  readonly segments: readonly SpeechSegment[];
  /** Resolves (never rejects) once the engine process has exited, however it ended. */
  readonly exited: Promise<void>;
}

const STDERR_TAIL_BYTES = 4096;

/**
 * Starts `pocketsphinx_continuous` reading raw 16 kHz PCM on stdin. PocketSphinx splits the
 * stream into utterances with its own VAD and prints each when it ends, so results arrive while
 * audio is still being written; word times are relative to the start of the stream.
 */
export function startRecognizer(opts: RecognizerOptions): Recognizer {
  const binary = opts.binary ?? 'pocketsphinx_continuous';
  const needWordInfo = opts.needWordInfo ?? false;
  const quietFlushMs = opts.quietFlushMs ?? 250;
  const upsampler = opts.sampleRate === 8000 ? new Upsample16x2() : undefined;
  const parser = new PocketsphinxOutputParser();
  const segments: SpeechSegment[] = [];
  let stderrTail = '';
  let failure: Error | undefined;
  let inputClosed = false;
  let quietTimer: NodeJS.Timeout | undefined;

  // Node gives a child a socketpair, not a pipe, as stdin, and PocketSphinx can only fopen() its
  // input (`/dev/stdin` on a socket fails with ENXIO). `cat` turns the socket into a real pipe.
  // The pair runs in its own process group so a kill reaches both.
  const child: ChildProcessWithoutNullStreams = spawn(
    '/bin/sh',
    ['-c', 'cat | exec "$0" "$@"', binary, ...pocketsphinxArgs(opts)],
    { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
  );

  const fail = (err: Error) => {
    failure ??= err;
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };

  const emit = (utts: ReturnType<PocketsphinxOutputParser['flush']>) => {
    for (const utt of utts) {
      const seg = utteranceToSegment(utt, needWordInfo);
      if (!seg) continue;
      segments.push(seg);
      try {
        opts.onSegment?.(seg);
      } catch (err) {
        fail(new ObsqError('OBSQ_INTERNAL', 'onSegment listener threw', { cause: coerceError(err) }));
      }
    }
  };

  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    emit(parser.push(text));
    if (quietTimer) clearTimeout(quietTimer);
    quietTimer = parser.pending ? setTimeout(() => emit(parser.flush()), quietFlushMs) : undefined;
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderrTail = (stderrTail + text).slice(-STDERR_TAIL_BYTES);
  });
  // EPIPE when the engine died early: the exit handler reports the real cause.
  child.stdin.on('error', () => {});

  const exited = new Promise<void>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      fail(err.code === 'ENOENT' ? engineMissingError(`PocketSphinx (${binary}) not found`, err) : new ObsqError('OBSQ_ENGINE', 'could not start PocketSphinx', { cause: err }));
      resolve();
    });
    child.once('close', (code, signal) => {
      if (quietTimer) clearTimeout(quietTimer);
      emit(parser.flush());
      if (code === 127 && !failure) {
        fail(engineMissingError(`PocketSphinx (${binary}) not found`));
      } else if (code !== 0 && !failure) {
        const lastError = stderrTail.split('\n').filter((l) => /ERROR|FATAL/.test(l)).slice(-3).join(' | ');
        fail(new ObsqError('OBSQ_ENGINE', `PocketSphinx exited with ${signal ?? `code ${code}`}${lastError ? `: ${lastError}` : ''}`, {
          details: { exitCode: code, signal },
        }));
      }
      resolve();
    });
  });

  const onAbort = () => abort(new ObsqError('OBSQ_ABORTED', 'transcription aborted', { cause: opts.signal?.reason }));
  if (opts.signal?.aborted) queueMicrotask(onAbort);
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  function abort(reason?: Error): void {
    inputClosed = true;
    fail(reason ?? new ObsqError('OBSQ_ABORTED', 'transcription aborted'));
  }

  let ending: Promise<SpeechSegment[]> | undefined;
  function end(): Promise<SpeechSegment[]> {
    ending ??= (async () => {
      if (!inputClosed) {
        inputClosed = true;
        const tail = upsampler?.finish();
        if (tail?.length) child.stdin.write(tail);
        child.stdin.end();
      }
      const timeoutMs = opts.endTimeoutMs ?? 60_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          fail(new ObsqError('OBSQ_TIMEOUT', `PocketSphinx did not finish within ${timeoutMs} ms`));
          resolve();
        }, timeoutMs);
      });
      try {
        await Promise.race([exited, timedOut]);
        await exited;
      } finally {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      }
      if (failure) throw failure;
      return segments;
    })();
    return ending;
  }

  return {
    write(pcm: Buffer) {
      if (inputClosed || failure || pcm.length === 0) return true;
      return child.stdin.write(upsampler ? upsampler.process(pcm) : pcm);
    },
    drained() {
      if (!child.stdin.writableNeedDrain || failure) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          child.stdin.off('drain', done);
          child.off('close', done);
          resolve();
        };
        child.stdin.once('drain', done);
        child.once('close', done);
      });
    },
    end,
    abort,
    exited,
    get segments() {
      return segments;
    },
  };
}
