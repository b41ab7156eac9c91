/**
 * Serialises async critical sections per key (e.g. one object key, one upload id) inside this
 * process. Sections for different keys run concurrently.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` once every earlier section for `key` has settled. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const result = prev.then(fn, fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      // Drop the entry only if no later section queued behind us, so the map does not grow.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
