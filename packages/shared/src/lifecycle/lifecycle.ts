import { constants } from 'node:os';
import { coerceError, ObsqError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import { withDeadline } from './withDeadline.js';

/**
 * A named shutdown step. `signal` aborts when the shutdown deadline passes: a hook that drains (a
 * BullMQ `worker.close()`) should switch to its forceful variant then.
 */
export type ShutdownHook = (signal: AbortSignal) => Promise<void> | void;

/** Options of {@link Lifecycle}. */
export interface LifecycleOptions {
  logger: Logger;
  /**
   * Longest the whole shutdown may take, in ms; then `shutdown()` resolves anyway and reports the
   * steps that did not finish. @defaultValue 30000
   */
  timeoutMs?: number;
}

/** Options of {@link Lifecycle.installSignalHandlers}. */
export interface SignalHandlerOptions {
  /** Logs the signals. @defaultValue the lifecycle's logger */
  logger?: Logger;
  /** Called on the second signal, just before the forced exit (flush logs here, synchronously). */
  onForce?: (signal: NodeJS.Signals) => void;
  /** Exits the process. @defaultValue `process.exit` */
  exit?: (code: number) => void;
  /** Where signals come from. @defaultValue `process` */
  target?: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
}

/** What a shutdown did. */
export interface ShutdownReport {
  /** Why it started (`SIGTERM`, `fatal error`, ...). */
  reason: string;
  /** Steps that finished without error, in the order they ran. */
  completed: string[];
  /** Steps that threw. */
  failed: Array<{ name: string; error: Error }>;
  /** Steps still running or never started when the deadline passed. */
  unfinished: string[];
  timedOut: boolean;
  /** All failures, or `undefined` when there were none. */
  error: AggregateError | undefined;
  durationMs: number;
  /** True when every step completed in time. */
  ok: boolean;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * The one shutdown coordinator a service's `main()` owns (house style 11–13). Components register
 * named hooks as they start; `shutdown()` runs them last-registered first, each in its own
 * try/catch, under one deadline. Register in start order (logs first, intake last) and shutdown
 * runs: stop intake → close workers → close queues → quit Redis → flush logs.
 */
export class Lifecycle {
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #hooks: Array<{ name: string; hook: ShutdownHook }> = [];
  readonly #abort = new AbortController();
  #closing: Promise<ShutdownReport> | undefined;
  #resolveDone!: (report: ShutdownReport) => void;
  readonly #done = new Promise<ShutdownReport>((resolve) => {
    this.#resolveDone = resolve;
  });
  #uninstall: (() => void) | undefined;

  constructor(options: LifecycleOptions) {
    const timeoutMs = options.timeoutMs ?? 30_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new TypeError('timeoutMs must be a non-negative number of ms');
    this.#logger = options.logger;
    this.#timeoutMs = timeoutMs;
  }

  /** Aborted when the shutdown deadline passes; pass it to work that should stop then. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** True once `shutdown()` has been called. */
  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Adds a shutdown step. Steps run in reverse order of registration.
   * @throws ObsqError `OBSQ_CLOSED` once shutdown has begun
   */
  register(name: string, hook: ShutdownHook): void {
    if (this.#closing !== undefined) {
      throw new ObsqError('OBSQ_CLOSED', `cannot register shutdown step "${name}": shutdown has already begun`);
    }
    this.#hooks.push({ name, hook });
  }

  /** Resolves with the report once a shutdown (from any trigger) has finished. */
  whenShutdown(): Promise<ShutdownReport> {
    return this.#done;
  }

  /**
   * Runs every step once; later calls return the same promise. Never rejects: failures are in the
   * report's `error` (an AggregateError). Resolves by the deadline even if a step hangs.
   */
  shutdown(reason: string): Promise<ShutdownReport> {
    this.#closing ??= this.#run(reason);
    return this.#closing;
  }

  async #run(reason: string): Promise<ShutdownReport> {
    const started = Date.now();
    const steps = [...this.#hooks].reverse();
    const completed: string[] = [];
    const failed: ShutdownReport['failed'] = [];
    let current = 0;
    this.#logger.info({ reason, steps: steps.map((s) => s.name), timeoutMs: this.#timeoutMs }, 'shutdown started');

    const runAll = async (): Promise<boolean> => {
      for (; current < steps.length; current += 1) {
        const step = steps[current];
        if (step === undefined || this.#abort.signal.aborted) break;
        const t0 = Date.now();
        this.#logger.info({ phase: step.name }, 'shutdown phase started');
        try {
          await step.hook(this.#abort.signal);
          if (this.#abort.signal.aborted) break;
          completed.push(step.name);
          this.#logger.info({ phase: step.name, durationMs: Date.now() - t0 }, 'shutdown phase finished');
        } catch (err) {
          const error = coerceError(err);
          failed.push({ name: step.name, error });
          this.#logger.error({ phase: step.name, durationMs: Date.now() - t0, err: error }, 'shutdown phase failed');
        }
      }
      return false;
    };

    const timedOut = await withDeadline(runAll(), this.#timeoutMs, () => {
      this.#abort.abort(new ObsqError('OBSQ_TIMEOUT', `shutdown deadline of ${this.#timeoutMs} ms passed`));
      return true;
    });
    const unfinished = timedOut ? steps.slice(current).map((s) => s.name) : [];
    const error = failed.length > 0 ? new AggregateError(failed.map((f) => f.error), `${failed.length} shutdown step(s) failed: ${failed.map((f) => f.name).join(', ')}`) : undefined;
    const report: ShutdownReport = {
      reason,
      completed,
      failed,
      unfinished,
      timedOut,
      error,
      durationMs: Date.now() - started,
      ok: failed.length === 0 && !timedOut,
    };
    if (timedOut) this.#logger.error({ reason, unfinished, timeoutMs: this.#timeoutMs }, 'shutdown deadline passed; giving up on unfinished phases');
    this.#logger.info({ reason, ok: report.ok, durationMs: report.durationMs, failed: failed.map((f) => f.name), unfinished }, 'shutdown finished');
    this.#resolveDone(report);
    return report;
  }

  /**
   * Makes SIGTERM and SIGINT start `shutdown(signal)`; a second signal calls `onForce` and exits with
   * `128 + signo` at once. Installs once (later calls return the same uninstaller). Only a service
   * entrypoint calls this; tests use `target` or do not call it.
   *
   * @returns a function that removes the handlers
   */
  installSignalHandlers(options: SignalHandlerOptions = {}): () => void {
    if (this.#uninstall !== undefined) return this.#uninstall;
    const logger = options.logger ?? this.#logger;
    const exit = options.exit ?? ((code: number) => process.exit(code));
    const target = options.target ?? process;
    let received = 0;
    const handler = (signal: NodeJS.Signals): void => {
      received += 1;
      if (received === 1) {
        logger.info({ signal }, `received ${signal}; shutting down (send again to force)`);
        void this.shutdown(signal);
        return;
      }
      const code = 128 + (constants.signals[signal] ?? 0);
      logger.warn({ signal, exitCode: code }, `received ${signal} again; forcing exit`);
      try {
        options.onForce?.(signal);
      } finally {
        exit(code);
      }
    };
    for (const s of SIGNALS) target.on(s, handler);
    this.#uninstall = () => {
      for (const s of SIGNALS) target.off(s, handler);
      this.#uninstall = undefined;
    };
    return this.#uninstall;
  }
}
