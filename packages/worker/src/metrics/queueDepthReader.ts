import { coerceError } from '@obsq/shared';

/** A queue whose job counts `obsq_queue_jobs` reports. */
export interface QueueCountsSource {
  /** The `queue` label value: the job name (`upload-part`, …). */
  name: string;
  /**
   * Reads the queue's job counts from Redis, e.g.
   * `() => queue.getJobCounts(...QUEUE_DEPTH_STATES)`. Missing states count as 0.
   */
  getCounts(): Promise<Record<string, number>>;
}

/** One queue's counts as of the last read; `counts` is undefined when the read failed. */
export interface QueueDepthSample {
  name: string;
  counts: Record<string, number> | undefined;
}

/**
 * Reads every source's counts at most once per `cacheMs`, sharing one in-flight read between
 * concurrent scrapes, so N scrapers (or a fast scrape interval) cost Redis one round per second.
 */
export class QueueDepthReader {
  private cached: { at: number; samples: QueueDepthSample[] } | undefined;
  private inflight: Promise<QueueDepthSample[]> | undefined;

  constructor(
    private readonly sources: () => readonly QueueCountsSource[],
    private readonly cacheMs: number,
    private readonly onError: (queue: string, err: Error) => void,
  ) {}

  read(): Promise<QueueDepthSample[]> {
    if (this.cached && performance.now() - this.cached.at < this.cacheMs) {
      return Promise.resolve(this.cached.samples);
    }
    this.inflight ??= this.fetch().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetch(): Promise<QueueDepthSample[]> {
    const samples = await Promise.all(
      this.sources().map(async (source): Promise<QueueDepthSample> => {
        try {
          return { name: source.name, counts: await source.getCounts() };
        } catch (err) {
          this.onError(source.name, coerceError(err));
          return { name: source.name, counts: undefined };
        }
      }),
    );
    // Stamped after the read, so a slow Redis cannot make back-to-back reads.
    this.cached = { at: performance.now(), samples };
    return samples;
  }
}
