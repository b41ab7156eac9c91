import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../logging/index.js';
import { Lifecycle } from './lifecycle.js';
import { withDeadline } from './withDeadline.js';

function captureLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ service: 'test', version: '0', level: 'debug', destination }), lines };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('Lifecycle.shutdown', () => {
  it('runs hooks last-registered first, each once, and logs each phase by name', async () => {
    const { logger, lines } = captureLogger();
    const lc = new Lifecycle({ logger, timeoutMs: 5_000 });
    const order: string[] = [];
    for (const name of ['flush logs', 'quit redis', 'close queues', 'close workers', 'stop http']) {
      lc.register(name, () => {
        order.push(name);
      });
    }
    const first = lc.shutdown('SIGTERM');
    const second = lc.shutdown('again');
    expect(second).toBe(first);
    const report = await first;
    expect(order).toEqual(['stop http', 'close workers', 'close queues', 'quit redis', 'flush logs']);
    expect(report).toMatchObject({ reason: 'SIGTERM', ok: true, timedOut: false, failed: [], unfinished: [], completed: order, error: undefined });
    expect(await lc.whenShutdown()).toBe(report);
    const phases = lines.filter((l) => l['msg'] === 'shutdown phase finished').map((l) => l['phase']);
    expect(phases).toEqual(order);
  });

  it('keeps going after a failing hook and collects failures in an AggregateError', async () => {
    const { logger, lines } = captureLogger();
    const lc = new Lifecycle({ logger });
    const ran: string[] = [];
    lc.register('a', () => {
      ran.push('a');
    });
    lc.register('b', () => {
      ran.push('b');
      throw new Error('b broke');
    });
    lc.register('c', async () => {
      ran.push('c');
      await Promise.reject('c broke');
    });
    const report = await lc.shutdown('test');
    expect(ran).toEqual(['c', 'b', 'a']);
    expect(report.ok).toBe(false);
    expect(report.completed).toEqual(['a']);
    expect(report.failed.map((f) => [f.name, f.error.message])).toEqual([
      ['c', 'c broke'],
      ['b', 'b broke'],
    ]);
    expect(report.error).toBeInstanceOf(AggregateError);
    expect(report.error?.errors).toHaveLength(2);
    expect(lines.filter((l) => l['msg'] === 'shutdown phase failed').map((l) => l['phase'])).toEqual(['c', 'b']);
  });

  it('resolves by the deadline, aborts the signal, and reports what did not finish', async () => {
    const { logger } = captureLogger();
    const lc = new Lifecycle({ logger, timeoutMs: 50 });
    const hang = deferred();
    let sawAbort = false;
    lc.register('never reached', () => undefined);
    lc.register('hangs', async (signal) => {
      signal.addEventListener('abort', () => {
        sawAbort = true;
      });
      await hang.promise;
    });
    lc.register('quick', () => undefined);
    const report = await lc.shutdown('test');
    expect(report).toMatchObject({ timedOut: true, ok: false, completed: ['quick'], unfinished: ['hangs', 'never reached'] });
    expect(sawAbort).toBe(true);
    expect(lc.signal.aborted).toBe(true);
    hang.resolve();
  });

  it('refuses new hooks once shutdown began', async () => {
    const { logger } = captureLogger();
    const lc = new Lifecycle({ logger });
    void lc.shutdown('x');
    expect(() => lc.register('late', () => undefined)).toThrow(expect.objectContaining({ code: 'OBSQ_CLOSED' }));
    await lc.whenShutdown();
  });
});

describe('Lifecycle.installSignalHandlers', () => {
  it('shuts down on the first signal, forces exit 128+signo on the second, and installs once', async () => {
    const { logger } = captureLogger();
    const lc = new Lifecycle({ logger });
    const target = new EventEmitter();
    const exit = vi.fn();
    const onForce = vi.fn();
    const hang = deferred();
    lc.register('drain', () => hang.promise);
    const uninstall = lc.installSignalHandlers({ target, exit, onForce });
    expect(lc.installSignalHandlers({ target, exit })).toBe(uninstall);
    expect(target.listenerCount('SIGTERM')).toBe(1);
    expect(target.listenerCount('SIGINT')).toBe(1);

    target.emit('SIGTERM', 'SIGTERM');
    expect(lc.closing).toBe(true);
    expect(exit).not.toHaveBeenCalled();

    target.emit('SIGINT', 'SIGINT');
    expect(onForce).toHaveBeenCalledWith('SIGINT');
    expect(exit).toHaveBeenCalledWith(130);

    uninstall();
    expect(target.listenerCount('SIGTERM')).toBe(0);
    expect(target.listenerCount('SIGINT')).toBe(0);
    hang.resolve();
    await lc.whenShutdown();
  });

  it('exits with 143 on a second SIGTERM', () => {
    const { logger } = captureLogger();
    const lc = new Lifecycle({ logger, timeoutMs: 10 });
    const target = new EventEmitter();
    const exit = vi.fn();
    const uninstall = lc.installSignalHandlers({ target, exit });
    target.emit('SIGTERM', 'SIGTERM');
    target.emit('SIGTERM', 'SIGTERM');
    expect(exit).toHaveBeenCalledWith(143);
    uninstall();
  });
});

describe('withDeadline', () => {
  it('settles like the promise when it is on time', async () => {
    await expect(withDeadline(Promise.resolve(1), 1_000, () => 2)).resolves.toBe(1);
    await expect(withDeadline(Promise.reject(new Error('no')), 1_000, () => 2)).rejects.toThrow('no');
  });

  it('settles like onTimeout after the deadline', async () => {
    const never = new Promise<number>(() => undefined);
    await expect(withDeadline(never, 10, () => 2)).resolves.toBe(2);
    await expect(
      withDeadline(never, 10, () => {
        throw new Error('late');
      }),
    ).rejects.toThrow('late');
  });
});
