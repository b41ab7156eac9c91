import type { SisSegment, SisWordInfo } from '../sis/index.js';

/** One word line of `pocketsphinx_continuous -time yes`: `word start end posterior` (seconds). */
export interface PocketsphinxWord {
  word: string;
  startSec: number;
  endSec: number;
  posterior: number;
}

/** One utterance as printed: the hypothesis line, then its word lines. */
export interface PocketsphinxUtterance {
  hypothesis: string;
  words: PocketsphinxWord[];
}

/** A recognised sentence in SIS shape; always final. */
export type SpeechSegment = SisSegment & { is_final: true; result: NonNullable<SisSegment['result']> };

const WORD_LINE = /^(\S+) (\d+\.\d+) (\d+\.\d+) (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/;
const FILLER = /^(<.*>|\[.*\]|\+\+.*\+\+)$/;
/** PocketSphinx word times are frame starts at 100 frames/s; the end frame is inclusive. */
const FRAME_MS = 10;

/**
 * Incremental parser of `pocketsphinx_continuous -time yes` stdout. An utterance is complete at
 * its `</s>` line, at the next hypothesis line, or on {@link flush} (process exit or idle).
 */
export class PocketsphinxOutputParser {
  private partialLine = '';
  private current: PocketsphinxUtterance | undefined;

  /** Feeds stdout text; returns the utterances completed by it. */
  push(chunk: string): PocketsphinxUtterance[] {
    const lines = (this.partialLine + chunk).split('\n');
    this.partialLine = lines.pop() ?? '';
    const done: PocketsphinxUtterance[] = [];
    for (const raw of lines) {
      const line = raw.trimEnd();
      const m = WORD_LINE.exec(line);
      if (m && this.current) {
        const [, word = '', start = '0', end = '0', post = '0'] = m;
        this.current.words.push({ word, startSec: Number(start), endSec: Number(end), posterior: Number(post) });
        if (word === '</s>') {
          done.push(this.current);
          this.current = undefined;
        }
        continue;
      }
      // Anything else starts a new utterance: its hypothesis line (empty when nothing was recognised).
      if (this.current) done.push(this.current);
      this.current = { hypothesis: line.trim(), words: [] };
    }
    return done;
  }

  /** True when an utterance is open or a line is half-read. */
  get pending(): boolean {
    return this.current !== undefined || this.partialLine !== '';
  }

  /** Ends the open utterance (if any), e.g. when the process exited or went quiet. */
  flush(): PocketsphinxUtterance[] {
    const done = this.partialLine === '' ? [] : this.push('\n');
    if (this.current) done.push(this.current);
    this.current = undefined;
    return done;
  }
}

/**
 * Turns an utterance into a SIS segment, or `undefined` when it holds no real word. Fillers
 * (`<s>`, `</s>`, `<sil>`, `[NOISE]`, …) are dropped and alternates (`word(2)`) stripped.
 * `score` is the arithmetic mean of the words' posterior probabilities (PocketSphinx `-time yes`
 * prints P(word | lattice) per word), clamped to 0..1: a sentence of confident words scores
 * near 1, one uncertain word pulls it down proportionally.
 */
export function utteranceToSegment(utt: PocketsphinxUtterance, needWordInfo: boolean): SpeechSegment | undefined {
  const words = utt.words
    .filter((w) => !FILLER.test(w.word))
    .map((w) => ({ ...w, word: w.word.replace(/\(\d+\)$/, '') }));
  const first = words[0];
  const last = words.at(-1);
  if (!first || !last) return undefined;
  const toMs = (sec: number) => Math.round(sec * 1000);
  const clamp = (x: number) => Math.min(1, Math.max(0, Number.isFinite(x) ? x : 0));
  const score = Math.round(clamp(words.reduce((s, w) => s + clamp(w.posterior), 0) / words.length) * 1e4) / 1e4;
  const result: SpeechSegment['result'] = { text: words.map((w) => w.word).join(' '), score };
  if (needWordInfo) {
    result.word_info = words.map((w): SisWordInfo => ({ start_time: toMs(w.startSec), end_time: toMs(w.endSec) + FRAME_MS, word: w.word }));
  }
  return { start_time: toMs(first.startSec), end_time: toMs(last.endSec) + FRAME_MS, is_final: true, result };
}
