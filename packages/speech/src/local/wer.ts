/** Edit counts between a reference and a hypothesis word sequence. */
export interface WordErrors {
  substitutions: number;
  deletions: number;
  insertions: number;
  /** substitutions + deletions + insertions. */
  errors: number;
  /** Number of reference words. */
  referenceWords: number;
  /** errors / referenceWords; 0 for two empty sequences, Infinity for an empty reference only. */
  wer: number;
}

/**
 * Lower-cases, drops sentence markers (`<s>`, `</s>`), fillers (`<sil>`, `[NOISE]`), PocketSphinx
 * alternates (`word(2)`) and punctuation other than in-word apostrophes, and splits on whitespace.
 */
export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w !== '' && !/^(<.*>|\[.*\])$/.test(w))
    .map((w) => w.replace(/\(\d+\)$/, '').replace(/[^\p{L}\p{N}']+/gu, '').replace(/^'+|'+$/g, ''))
    .filter((w) => w !== '');
}

/** Word-level Levenshtein alignment of `hypothesis` against `reference` (both already tokenised). */
export function wordErrors(reference: readonly string[], hypothesis: readonly string[]): WordErrors {
  const n = reference.length;
  const m = hypothesis.length;
  // dp[j] holds [cost, subs, dels, ins] for the prefix pair; one row is enough.
  type Cell = [number, number, number, number];
  let prev: Cell[] = Array.from({ length: m + 1 }, (_, j): Cell => [j, 0, 0, j]);
  for (let i = 1; i <= n; i++) {
    const cur: Cell[] = [[i, 0, i, 0]];
    for (let j = 1; j <= m; j++) {
      const diag = prev[j - 1]!;
      const same = reference[i - 1] === hypothesis[j - 1];
      const candidates: Cell[] = [
        [diag[0] + (same ? 0 : 1), diag[1] + (same ? 0 : 1), diag[2], diag[3]],
        [prev[j]![0] + 1, prev[j]![1], prev[j]![2] + 1, prev[j]![3]],
        [cur[j - 1]![0] + 1, cur[j - 1]![1], cur[j - 1]![2], cur[j - 1]![3] + 1],
      ];
      cur.push(candidates.reduce((a, b) => (b[0] < a[0] ? b : a)));
    }
    prev = cur;
  }
  const [errors, substitutions, deletions, insertions] = prev[m]!;
  return { substitutions, deletions, insertions, errors, referenceWords: n, wer: n === 0 ? (m === 0 ? 0 : Infinity) : errors / n };
}

/** Word error rate of `hypothesis` against `reference`, after {@link normalizeWords}. */
export function wordErrorRate(reference: string, hypothesis: string): number {
  return wordErrors(normalizeWords(reference), normalizeWords(hypothesis)).wer;
}

/** Corpus WER: total errors over total reference words (not the mean of per-utterance WERs). */
export function corpusWordErrors(pairs: ReadonlyArray<{ reference: string; hypothesis: string }>): WordErrors {
  const total = { substitutions: 0, deletions: 0, insertions: 0, errors: 0, referenceWords: 0 };
  for (const p of pairs) {
    const e = wordErrors(normalizeWords(p.reference), normalizeWords(p.hypothesis));
    total.substitutions += e.substitutions;
    total.deletions += e.deletions;
    total.insertions += e.insertions;
    total.errors += e.errors;
    total.referenceWords += e.referenceWords;
  }
  const { errors, referenceWords: n } = total;
  return { ...total, wer: n === 0 ? (errors === 0 ? 0 : Infinity) : errors / n };
}
