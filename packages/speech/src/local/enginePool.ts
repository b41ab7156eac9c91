import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { pino, type Logger } from 'pino';
import { coerceError, ObsqError } from '@obsq/shared';
import { pocketsphinxArgs, type PocketsphinxOptions } from './pocketsphinxEngine.js';
import { PocketsphinxOutputParser, utteranceToSegment, type SpeechSegment } from './pocketsphinxOutput.js';
import type { Recognizer, RecognizerOptions } from './recognizer.js';
import { Upsample16x2 } from './resample.js';
import { buildWarmEngineDriver } from './warmEngineDriver.js';

/** Why a warm engine was killed and replaced. */
export type EngineReplaceReason = 'crashed' | 'stuck' | 'aborted';

/** Options of {@link EnginePool.create}. */
export interface EnginePoolOptions extends Omit<PocketsphinxOptions, 'binary'> {
  /** Engine processes at most (one per transcription slot). Spawned on first use, then kept. */
  size: number;
  /** A prebuilt warm engine driver. @defaultValue built from `native/obsqSphinx.c` by {@link buildWarmEngineDriver} */
  driver?: string;
  /** Where {@link buildWarmEngineDriver} caches the build. @defaultValue its default */
  cacheDir?: string;
  /** How long an engine may take to load its model, in ms. @defaultValue 60000 */
  startTimeoutMs?: number;
  /** Called once per engine killed and replaced (for metrics). Must not throw. */
  onReplaced?: (reason: EngineReplaceReason) => void;
  /** @defaultValue silent */
  logger?: Logger;
}

/** Options of one job on a pooled engine: those of {@link startRecognizer} without the engine paths. */
export type PooledRecognizerOptions = Omit<RecognizerOptions, keyof PocketsphinxOptions>;

const STDERR_TAIL_BYTES = 4096;
const READY = '#obsq-ready';
const END = /^#obsq-end (\d+)$/;

interface Job {
  seq: number;
  parser: PocketsphinxOutputParser;
  onLine(line: string): void;
  onEnd(): void;
  onDeath(err: Error): void;
}

/**
 * One driver process: the model loaded once, then jobs one at a time. Output lines between a
 * job's first frame and its `#obsq-end <seq>` belong to that job and to no other: the engine is
 * only handed to the next job after that marker (or killed).
 */
class WarmEngine {
  readonly child: ChildProcessWithoutNullStreams;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  alive = true;
  /** Set when we killed it on purpose: the reason reported instead of `crashed`. */
  killReason: EngineReplaceReason | undefined;
  wasReady = false;
  private seq = 0;
  private job: Job | undefined;
  private partial = '';
  private stderrTail = '';

  constructor(driver: string, args: string[], startTimeoutMs: number) {
    this.child = spawn(driver, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin.on('error', () => {});
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (t: string) => (this.stderrTail = (this.stderrTail + t).slice(-STDERR_TAIL_BYTES)));
    let onReady!: () => void;
    let onFail!: (err: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    // Handled by whoever awaits it; a death before anyone does must not be unhandled.
    this.ready.catch(() => {});
    const timer = setTimeout(() => {
      onFail(new ObsqError('OBSQ_ENGINE', `the warm engine did not load its model within ${startTimeoutMs} ms`));
      this.kill('stuck');
    }, startTimeoutMs);
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (text: string) => {
      const lines = (this.partial + text).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!this.wasReady) {
          if (line === READY) {
            this.wasReady = true;
            clearTimeout(timer);
            onReady();
          }
          continue;
        }
        const end = END.exec(line);
        const job = this.job;
        if (!job) {
          this.kill('crashed');
          continue;
        }
        if (end) {
          if (Number(end[1]) !== job.seq) {
            // Out of step: never trust this engine's output again.
            this.kill('crashed');
            continue;
          }
          this.job = undefined;
          job.onEnd();
        } else {
          job.onLine(line);
        }
      }
    });
    this.exited = new Promise<void>((resolve) => {
      const died = (err: Error) => {
        this.alive = false;
        clearTimeout(timer);
        onFail(err);
        const job = this.job;
        this.job = undefined;
        job?.onDeath(err);
        resolve();
      };
      this.child.once('error', (err) => died(new ObsqError('OBSQ_ENGINE', 'could not start the warm engine', { cause: err })));
      this.child.once('close', (code, signal) => {
        const lastError = this.stderrTail.split('\n').filter((l) => /ERROR|FATAL/.test(l)).slice(-3).join(' | ');
        died(
          new ObsqError('OBSQ_ENGINE', `PocketSphinx (warm engine) exited with ${signal ?? `code ${code}`}${lastError ? `: ${lastError}` : ''}`, {
            details: { exitCode: code, signal, engineCrashed: this.killReason === undefined || this.killReason === 'crashed' },
          }),
        );
      });
    });
  }

  /** Starts the next job; `job.seq` must be {@link nextSeq}. */
  begin(job: Job): void {
    this.job = job;
  }

  nextSeq(): number {
    return ++this.seq;
  }

  /** Queues one frame: a 4-byte little-endian length, then the bytes. Returns false when the pipe is full. */
  frame(pcm: Buffer): boolean {
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32LE(pcm.length, 0);
    this.child.stdin.write(header);
    return pcm.length === 0 ? !this.child.stdin.writableNeedDrain : this.child.stdin.write(pcm);
  }

  kill(reason: EngineReplaceReason): void {
    if (!this.alive) return;
    this.killReason ??= reason;
    try {
      this.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * A pool of warm PocketSphinx processes: each loads its model once and decodes job after job
 * (see `native/obsqSphinx.c`), instead of one process and one model load per file. A job holds
 * one engine from {@link acquire} until its `end()` resolves; an engine that crashes, is aborted
 * or times out mid-job is killed (its job fails with `OBSQ_ENGINE`, `OBSQ_ABORTED` or
 * `OBSQ_TIMEOUT`) and replaced. Results never cross jobs: each job's output is delimited by the
 * driver's end marker, and the driver resets all decoder state between jobs.
 */
export class EnginePool {
  /** The driver path in use. */
  readonly driver: string;
  private readonly opts: EnginePoolOptions;
  private readonly log: Logger;
  private readonly idle: WarmEngine[] = [];
  private readonly all = new Set<WarmEngine>();
  private readonly waiters: Array<() => void> = [];
  private closing: Promise<void> | undefined;

  private constructor(driver: string, opts: EnginePoolOptions) {
    this.driver = driver;
    this.opts = opts;
    this.log = opts.logger ?? pino({ level: 'silent' });
  }

  /**
   * Builds (or finds) the driver and returns an empty pool; engines start on first use.
   * @throws ObsqError `OBSQ_ENGINE` (permanent) when the driver cannot be built here.
   */
  static async create(options: EnginePoolOptions): Promise<EnginePool> {
    const opts = { startTimeoutMs: 60_000, ...options };
    if (!Number.isInteger(opts.size) || opts.size <= 0) throw new TypeError('size must be a positive integer');
    if (!Number.isInteger(opts.startTimeoutMs) || opts.startTimeoutMs <= 0) throw new TypeError('startTimeoutMs must be a positive integer (ms)');
    const driver = opts.driver ?? (await buildWarmEngineDriver(opts.cacheDir));
    return new EnginePool(driver, opts);
  }

  /** Engine processes alive (idle or busy). */
  get size(): number {
    return this.all.size;
  }

  /** Process ids of the live engines (for tests and diagnostics). */
  get pids(): number[] {
    return [...this.all].flatMap((e) => (e.child.pid === undefined ? [] : [e.child.pid]));
  }

  /**
   * Waits for a free engine (starting one when fewer than `size` run) and returns a
   * {@link Recognizer} for one job on it. Aborting `signal` while waiting rejects with `OBSQ_ABORTED`.
   */
  async acquire(opts: PooledRecognizerOptions): Promise<Recognizer> {
    const engine = await this.take(opts.signal);
    return this.run(engine, opts);
  }

  private async take(signal: AbortSignal | undefined): Promise<WarmEngine> {
    for (;;) {
      if (this.closing) throw new ObsqError('OBSQ_CLOSED', 'the engine pool is closed');
      if (signal?.aborted) throw new ObsqError('OBSQ_ABORTED', 'transcription aborted', { cause: signal.reason });
      const idle = this.idle.pop();
      if (idle) {
        if (idle.alive) return idle;
        continue;
      }
      if (this.all.size < this.opts.size) {
        const engine = this.spawn();
        const onAbort = () => engine.kill('aborted');
        signal?.addEventListener('abort', onAbort, { once: true });
        try {
          await engine.ready;
        } finally {
          signal?.removeEventListener('abort', onAbort);
        }
        return engine;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener('abort', wake);
          const i = this.waiters.indexOf(wake);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve();
        };
        this.waiters.push(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  private spawn(): WarmEngine {
    const args = pocketsphinxArgs(this.opts).filter((a, i, all) => a !== '-infile' && all[i - 1] !== '-infile');
    const engine = new WarmEngine(this.driver, args, this.opts.startTimeoutMs ?? 60_000);
    this.all.add(engine);
    void engine.exited.then(() => {
      this.all.delete(engine);
      const i = this.idle.indexOf(engine);
      if (i >= 0) this.idle.splice(i, 1);
      if (this.closing) return;
      const reason = engine.killReason ?? 'crashed';
      this.log.warn({ reason, pid: engine.child.pid }, 'warm engine gone; a new one replaces it');
      try {
        this.opts.onReplaced?.(reason);
      } catch (err) {
        this.log.warn({ err: coerceError(err) }, 'onReplaced listener threw');
      }
      // Replace at once an engine that had loaded its model (so the slot stays warm); one that
      // never got ready is retried on the next acquire instead, so a broken setup cannot spin.
      if (engine.wasReady && this.all.size < this.opts.size) {
        const fresh = this.spawn();
        fresh.ready.then(
          () => this.release(fresh),
          () => undefined,
        );
      }
      this.wake();
    });
    return engine;
  }

  private release(engine: WarmEngine): void {
    if (!engine.alive) return;
    if (this.closing) {
      engine.child.stdin.end();
      return;
    }
    this.idle.push(engine);
    this.wake();
  }

  private wake(): void {
    this.waiters.shift()?.();
  }

  private run(engine: WarmEngine, opts: PooledRecognizerOptions): Recognizer {
    const needWordInfo = opts.needWordInfo ?? false;
    const quietFlushMs = opts.quietFlushMs ?? 250;
    const upsampler = opts.sampleRate === 8000 ? new Upsample16x2() : undefined;
    const parser = new PocketsphinxOutputParser();
    const segments: SpeechSegment[] = [];
    let failure: Error | undefined;
    let inputClosed = false;
    let finished = false;
    let quietTimer: NodeJS.Timeout | undefined;
    let settle!: () => void;
    const exited = new Promise<void>((resolve) => (settle = resolve));

    const fail = (err: Error, reason: EngineReplaceReason) => {
      failure ??= err;
      inputClosed = true;
      if (!finished) engine.kill(reason);
    };
    const emit = (utts: ReturnType<PocketsphinxOutputParser['flush']>) => {
      for (const utt of utts) {
        const seg = utteranceToSegment(utt, needWordInfo);
        if (!seg) continue;
        segments.push(seg);
        try {
          opts.onSegment?.(seg);
        } catch (err) {
          fail(new ObsqError('OBSQ_INTERNAL', 'onSegment listener threw', { cause: coerceError(err) }), 'aborted');
        }
      }
    };
    const done = () => {
      if (quietTimer) clearTimeout(quietTimer);
      finished = true;
      opts.signal?.removeEventListener('abort', onAbort);
      settle();
    };

    const seq = engine.nextSeq();
    engine.begin({
      seq,
      parser,
      onLine: (line) => {
        emit(parser.push(`${line}\n`));
        if (quietTimer) clearTimeout(quietTimer);
        quietTimer = parser.pending ? setTimeout(() => emit(parser.flush()), quietFlushMs) : undefined;
      },
      onEnd: () => {
        emit(parser.flush());
        done();
        if (failure) engine.kill('aborted');
        else this.release(engine);
      },
      onDeath: (err) => {
        emit(parser.flush());
        failure ??= err;
        done();
      },
    });

    const onAbort = () => fail(new ObsqError('OBSQ_ABORTED', 'transcription aborted', { cause: opts.signal?.reason }), 'aborted');
    if (opts.signal?.aborted) queueMicrotask(onAbort);
    else opts.signal?.addEventListener('abort', onAbort, { once: true });

    let ending: Promise<SpeechSegment[]> | undefined;
    const end = (): Promise<SpeechSegment[]> => {
      ending ??= (async () => {
        if (!inputClosed) {
          inputClosed = true;
          const tail = upsampler?.finish();
          if (tail?.length) engine.frame(tail);
          engine.frame(Buffer.alloc(0));
        }
        const timeoutMs = opts.endTimeoutMs ?? 60_000;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            fail(new ObsqError('OBSQ_TIMEOUT', `PocketSphinx did not finish within ${timeoutMs} ms`), 'stuck');
            resolve();
          }, timeoutMs);
        });
        try {
          await Promise.race([exited, timedOut]);
          await exited;
        } finally {
          clearTimeout(timer);
        }
        if (failure) throw failure;
        return segments;
      })();
      return ending;
    };

    return {
      write(pcm: Buffer) {
        if (inputClosed || failure || pcm.length === 0) return true;
        const data = upsampler ? upsampler.process(pcm) : pcm;
        return data.length === 0 ? true : engine.frame(data);
      },
      drained() {
        const stdin = engine.child.stdin;
        if (!stdin.writableNeedDrain || failure || finished) return Promise.resolve();
        return new Promise<void>((resolve) => {
          const ok = () => {
            stdin.off('drain', ok);
            resolve();
          };
          stdin.once('drain', ok);
          void exited.then(ok);
        });
      },
      end,
      abort(reason?: Error) {
        const err = reason ?? new ObsqError('OBSQ_ABORTED', 'transcription aborted');
        fail(err, (err as { code?: unknown }).code === 'OBSQ_TIMEOUT' ? 'stuck' : 'aborted');
      },
      exited,
      get segments() {
        return segments;
      },
    };
  }

  /**
   * Stops every engine: idle ones get end of input and exit on their own, busy ones are killed
   * after `graceMs`. Waiting `acquire`s reject with `OBSQ_CLOSED`. Idempotent.
   */
  close(graceMs = 2_000): Promise<void> {
    this.closing ??= (async () => {
      for (const wake of this.waiters.splice(0)) wake();
      for (const engine of this.idle.splice(0)) engine.child.stdin.end();
      const all = [...this.all];
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(all.map((e) => e.exited)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      for (const e of all) e.kill('aborted');
      await Promise.all(all.map((e) => e.exited));
    })();
    return this.closing;
  }
}
