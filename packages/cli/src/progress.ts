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
