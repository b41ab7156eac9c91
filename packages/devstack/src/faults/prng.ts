/**
 * A small deterministic PRNG (mulberry32): the same seed always yields the same sequence, so a
 * test that injects faults at a rate below 1 sees the same requests fail on every run.
 */
export class Prng {
  private state: number;

  /** @param seed any integer; only the low 32 bits are used. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next value in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/**
 * Derives an independent seed per stream name (FNV-1a of the name mixed with the base seed), so
 * the fault sequence of `UploadPart` does not shift when unrelated operations run in between.
 */
export function deriveSeed(seed: number, stream: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < stream.length; i++) {
    h ^= stream.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
