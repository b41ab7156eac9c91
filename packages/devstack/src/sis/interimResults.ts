import type { SisSegment, SisWordInfo, SpeechSegment } from '@obsq/speech';

/**
 * Interim hypotheses for a final segment. PocketSphinx's continuous decoder only prints
 * finished utterances, so the server synthesises what SIS would have streamed: the growing
 * word prefix at about 1/3 and 2/3 of the sentence (score 0, like SIS 2021 interims), same
 * `start_time`, sent right before the final.
 */
export function interimSegmentsFor(seg: SpeechSegment, withWordInfo: boolean): SisSegment[] {
  const words: SisWordInfo[] = seg.result.word_info ?? seg.result.text.split(' ').map((word) => ({ word }));
  const n = words.length;
  const cuts = [...new Set([Math.ceil(n / 3), Math.ceil((2 * n) / 3)])].filter((k) => k > 0 && k < n);
  return cuts.map((k) => {
    const prefix = words.slice(0, k);
    const end = prefix.at(-1)?.end_time;
    return {
      start_time: seg.start_time,
      end_time: end ?? Math.round(seg.start_time + ((seg.end_time - seg.start_time) * k) / n),
      is_final: false,
      result: {
        text: prefix.map((w) => w.word).join(' '),
        score: 0,
        ...(withWordInfo && seg.result.word_info ? { word_info: prefix } : {}),
      },
    };
  });
}
