import { startRecognizer, type Recognizer, type SpeechSegment } from '@obsq/speech';

type Rate = 8000 | 16000;
interface Spare {
  recognizer: Recognizer;
  route: { onSegment?: (seg: SpeechSegment) => void };
}

/**
 * Keeps one idle PocketSphinx process per sample rate with its model already loaded, so a START
 * does not pay the model load (0.3–1 s) before the first result; the taken one is replaced at once.
 */
export class WarmRecognizers {
  private readonly spares = new Map<Rate, Spare>();
  private readonly exits: Promise<unknown>[] = [];
  private closed = false;

  constructor(private readonly binary: string | undefined) {}

  /** Spawns the spare for `rate` now (e.g. 16 kHz at server start). */
  prewarm(rate: Rate): void {
    if (!this.closed && !this.spares.has(rate)) this.spares.set(rate, this.spawn(rate));
  }

  /** A recognizer for a new session, routed to `onSegment`. */
  take(rate: Rate, onSegment: (seg: SpeechSegment) => void): Recognizer {
    const spare = this.spares.get(rate) ?? this.spawn(rate);
    this.spares.delete(rate);
    spare.route.onSegment = onSegment;
    this.prewarm(rate);
    return spare.recognizer;
  }

  /** Kills the idle spares and waits for them to exit; later `take`s spawn unpooled. */
  async close(): Promise<void> {
    this.closed = true;
    for (const spare of this.spares.values()) spare.recognizer.abort();
    this.spares.clear();
    await Promise.allSettled(this.exits);
  }

  private spawn(rate: Rate): Spare {
    const route: Spare['route'] = {};
    const recognizer = startRecognizer({
      sampleRate: rate,
      needWordInfo: true,
      ...(this.binary ? { binary: this.binary } : {}),
      onSegment: (seg) => route.onSegment?.(seg),
    });
    this.exits.push(recognizer.exited);
    return { recognizer, route };
  }
}
