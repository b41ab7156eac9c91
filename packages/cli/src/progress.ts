import { SingleBar, Presets } from 'cli-progress';

/**
 * A TTY progress bar fed by polling `read()` (bytes done). Silent when stderr is not a terminal, so
 * piped and JSON output stay clean. Returns an idempotent stop function; give it the final value
 * (e.g. `total` once the job succeeded) so the bar ends where the work did.
 */
export function showProgress(label: string, total: number, read: () => Promise<number>, intervalMs = 500): (finalValue?: number) => void {
  if (!process.stderr.isTTY) return () => undefined;
  const bar = new SingleBar({ stream: process.stderr, format: `${label} [{bar}] {percentage}% | {value}/{total} bytes | eta {eta}s`, hideCursor: true }, Presets.shades_classic);
  bar.start(Math.max(total, 1), 0);
  let stopped = false;
  const timer = setInterval(() => {
    void read().then((v) => !stopped && bar.update(v), () => undefined);
  }, intervalMs);
  timer.unref();
  return (finalValue?: number) => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    if (finalValue !== undefined) bar.update(finalValue);
    bar.stop();
  };
}

/** What {@link showBatchProgress} polls. */
export interface BatchCounters {
  members: number;
  done: number;
  bytesTotal: number;
  bytesDone: number;
  failed: number;
  skipped: number;
  createdAt: number;
}

const mib = (n: number) => (n / 1024 / 1024).toFixed(1);

/**
 * One aggregate TTY bar for a batch: files done of files enqueued (the total grows while the
 * producer is still enqueueing), bytes, rate and ETA. Silent when stderr is not a terminal.
 */
export function showBatchProgress(label: string, read: () => Promise<BatchCounters | undefined>, intervalMs = 500): (final?: BatchCounters) => void {
  if (!process.stderr.isTTY) return () => undefined;
  const bar = new SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {value}/{total} files | {mbDone}/{mbTotal} MiB | {rate} MiB/s | {failed} failed, {skipped} skipped | eta {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 20,
    },
    Presets.shades_classic,
  );
  const payload = (c: BatchCounters | undefined) => {
    const secs = c ? Math.max(0.001, (Date.now() - c.createdAt) / 1000) : 1;
    return {
      mbDone: mib(c?.bytesDone ?? 0),
      mbTotal: mib(c?.bytesTotal ?? 0),
      rate: mib((c?.bytesDone ?? 0) / secs),
      failed: c?.failed ?? 0,
      skipped: c?.skipped ?? 0,
    };
  };
  bar.start(1, 0, payload(undefined));
  let stopped = false;
  const apply = (c: BatchCounters | undefined) => {
    if (!c) return;
    bar.setTotal(Math.max(1, c.members));
    bar.update(c.done, payload(c));
  };
  const timer = setInterval(() => {
    void read().then((c) => !stopped && apply(c), () => undefined);
  }, intervalMs);
  timer.unref();
  return (final?: BatchCounters) => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    apply(final);
    bar.stop();
  };
}
