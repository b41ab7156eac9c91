import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { corpusWordErrors, engineAvailable, normalizeWords, parseWav, transcribePcm } from '@obsq/speech';
import { waitFor } from './helpers/waitFor.js';

const DATA = '/usr/share/pocketsphinx/test/data';

/** Child processes of this test process (the engine runs as `sh -c 'cat | pocketsphinx_continuous'`). */
function childPids(): Promise<string[]> {
  return new Promise((resolve) => {
    // pgrep exits 1 when nothing matches.
    execFile('pgrep', ['-P', String(process.pid)], (_err, stdout) => resolve(stdout.split('\n').filter(Boolean)));
  });
}

afterAll(async () => {
  await waitFor(async () => (await childPids()).length === 0, { timeoutMs: 5000, what: 'engine processes to exit' });
});

// The engine comes from Debian packages (pocketsphinx pocketsphinx-en-us pocketsphinx-testdata);
// fail loudly rather than skip so a CI image without them is noticed.
describe('PocketSphinx engine', () => {
  it('is installed', async () => {
    expect(await engineAvailable(), 'apt-get install -y pocketsphinx pocketsphinx-en-us pocketsphinx-testdata').toBe(true);
  });

  it('transcribes goforward.raw (16 kHz raw PCM) exactly, with word timings', async () => {
    const segments = await transcribePcm({ pcm: join(DATA, 'goforward.raw'), sampleRate: 16000, needWordInfo: true });
    expect(segments).toHaveLength(1);
    const [seg] = segments;
    expect(seg?.result.text).toBe('go forward ten meters');
    expect(seg?.is_final).toBe(true);
    expect(seg?.result.score).toBeGreaterThan(0);
    expect(seg?.result.score).toBeLessThanOrEqual(1);
    expect(seg?.result.word_info?.map((w) => w.word)).toEqual(['go', 'forward', 'ten', 'meters']);
    for (const w of seg?.result.word_info ?? []) {
      expect(w.start_time).toBeGreaterThanOrEqual(seg!.start_time);
      expect(w.end_time).toBeLessThanOrEqual(seg!.end_time);
    }
  });

  it('still recognises 8 kHz input (upsampled to 16 kHz)', async () => {
    const pcm16k = await readFile(join(DATA, 'goforward.raw'));
    const pcm8k = Buffer.alloc(Math.floor(pcm16k.length / 4) * 2);
    for (let i = 0; i < pcm8k.length / 2; i++) pcm8k.writeInt16LE(pcm16k.readInt16LE(i * 4), i * 2);
    const segments = await transcribePcm({ pcm: pcm8k, sampleRate: 8000 });
    const text = segments.map((s) => s.result.text).join(' ');
    expect(normalizeWords(text).slice(0, 3)).toEqual(['go', 'forward', 'ten']);
    expect(segments[0]?.end_time).toBeLessThan(3000);
  });

  it('gets corpus WER <= 0.45 on the five LibriVox recordings', async () => {
    const transcription = await readFile(join(DATA, 'librivox', 'transcription'), 'utf8');
    const refs = new Map(
      transcription
        .split('\n')
        .map((l) => /^(.*)\((\S+)\)\s*$/.exec(l.trim()))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[2]!, m[1]!] as const),
    );
    expect(refs.size).toBe(5);
    const pairs = await Promise.all(
      [...refs].map(async ([id, reference]) => {
        const wav = parseWav(await readFile(join(DATA, 'librivox', `${id}.wav`)));
        expect(wav.sampleRateHz).toBe(16000);
        const segments = await transcribePcm({ pcm: wav.data, sampleRate: 16000 });
        return { id, reference, hypothesis: segments.map((s) => s.result.text).join(' ') };
      }),
    );
    const total = corpusWordErrors(pairs);
    console.info(
      `LibriVox WER ${total.wer.toFixed(3)} (${total.errors}/${total.referenceWords}: ` +
        `${total.substitutions} sub, ${total.deletions} del, ${total.insertions} ins)\n` +
        pairs.map((p) => `  ${p.id}: ${p.hypothesis}`).join('\n'),
    );
    expect(total.wer).toBeLessThanOrEqual(0.45);
  });

  it('kills the engine on abort and rejects with OBSQ_ABORTED', async () => {
    const pcm = await readFile(join(DATA, 'librivox', 'sense_and_sensibility_01_austen_64kb-0870.wav'));
    const ac = new AbortController();
    const run = transcribePcm({ pcm: Buffer.concat([pcm, pcm, pcm, pcm]), sampleRate: 16000, signal: ac.signal });
    ac.abort();
    await expect(run).rejects.toMatchObject({ code: 'OBSQ_ABORTED' });
  });

  it('names the Debian packages when the binary is missing', async () => {
    await expect(transcribePcm({ pcm: Buffer.alloc(3200), sampleRate: 16000, binary: 'pocketsphinx_does_not_exist' })).rejects.toMatchObject({
      code: 'OBSQ_ENGINE',
      permanent: true,
      message: expect.stringContaining('apt-get install -y pocketsphinx pocketsphinx-en-us'),
    });
  });

  it('bounds the run with a timeout', async () => {
    const pcm = await readFile(join(DATA, 'librivox', 'sense_and_sensibility_01_austen_64kb-0870.wav'));
    await expect(transcribePcm({ pcm, sampleRate: 16000, timeoutMs: 1 })).rejects.toMatchObject({ code: 'OBSQ_TIMEOUT' });
  });
});
