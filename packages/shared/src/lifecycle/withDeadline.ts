/**
 * Races `promise` against a deadline of `ms` milliseconds. On time it settles like `promise`; after the
 * deadline it settles like `onTimeout()` instead (whose value or rejection wins). The timer is
 * `unref`'d, so it never keeps the process alive, and cleared as soon as either side settles.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => T | Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (err) {
        reject(err);
      }
    }, ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
