import { describe, expect, it } from 'vitest';
import { corpusWordErrors, normalizeWords, wordErrorRate, wordErrors } from './wer.js';

describe('word error rate', () => {
  it('is 0 for identical text and ignores case, markers and punctuation', () => {
    expect(wordErrorRate('<s> Go forward, ten meters. </s>', 'go forward ten meters')).toBe(0);
    expect(normalizeWords("<sil> i'm [NOISE] and(2) 'quoted'")).toEqual(["i'm", 'and', 'quoted']);
  });

  it('counts substitutions, deletions and insertions', () => {
    expect(wordErrors(['a', 'b', 'c'], ['a', 'x', 'c'])).toMatchObject({ substitutions: 1, deletions: 0, insertions: 0, wer: 1 / 3 });
    expect(wordErrors(['a', 'b', 'c'], ['a', 'c'])).toMatchObject({ substitutions: 0, deletions: 1, insertions: 0 });
    expect(wordErrors(['a', 'b'], ['a', 'b', 'c', 'd'])).toMatchObject({ insertions: 2, errors: 2, wer: 1 });
    expect(wordErrors(['a', 'b', 'c', 'd'], ['b', 'c', 'd', 'e'])).toMatchObject({ errors: 2, deletions: 1, insertions: 1 });
  });

  it('handles empty sides', () => {
    expect(wordErrors([], []).wer).toBe(0);
    expect(wordErrors([], ['a']).wer).toBe(Infinity);
    expect(wordErrors(['a', 'b'], [])).toMatchObject({ deletions: 2, wer: 1 });
  });

  it('matches the textbook example (kitten/sitting at word level)', () => {
    expect(wordErrorRate('k i t t e n', 's i t t i n g')).toBe(3 / 6);
  });

  it('pools errors over a corpus', () => {
    const c = corpusWordErrors([
      { reference: 'a b c d', hypothesis: 'a b c d' },
      { reference: 'e f', hypothesis: 'e g' },
    ]);
    expect(c).toMatchObject({ errors: 1, referenceWords: 6 });
    expect(c.wer).toBeCloseTo(1 / 6);
  });
});
