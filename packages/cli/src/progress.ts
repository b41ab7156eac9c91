import { SingleBar, Presets } from 'cli-progress';

/**
 * A TTY progress bar fed by polling `read()` (bytes done). Silent when stderr is not a terminal, so
 * piped and JSON output stay clean. Returns an idempotent stop function.
 */
export function showProgress(label: string, total: number, read: () => Promise<number>, intervalMs = 500): () => void {
  if (!process.stderr.isTTY) return () => undefined;
  const bar = new SingleBar({ stream: process.stderr, format: `${label} [{bar}] {percentage}% | {value}/{total} bytes | eta {eta}s`, hideCursor: true }, Presets.shades_classic);
  bar.start(Math.max(total, 1), 0);
  let stopped = false;
  const timer = setInterval(() => {
    void read().then((v) => !stopped && bar.update(v), () => undefined);
  }, intervalMs);
  timer.unref();
  return () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    bar.stop();
  };
}
