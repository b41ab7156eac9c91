import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tool } from './helpers/tools.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transcribe, toSrt } from '@obsq/speech';

// pocketsphinx-testdata: 16 kHz, 16-bit, mono headerless PCM of "go forward ten meters".
const GOFORWARD = '/usr/share/pocketsphinx/test/data/goforward.raw';
const engine = tool('pocketsphinx');
const soxTool = tool('sox');

describe.skipIf(engine.skip)("transcribe({ engine: 'local' })", () => {
  beforeAll(() => engine.require());
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'obsq-local-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('recognises goforward.raw from a path, with SIS-shaped segments and progress', async () => {
    const progress: Array<[number, number]> = [];
    const result = await transcribe({
      audio: GOFORWARD,
      format: 'pcm16k16bit',
      request: { property: 'english_16k_common', needWordInfo: true },
      engine: 'local',
      onProgress: (fraction, ms) => progress.push([fraction, ms]),
    });
    expect(result.engine).toBe('local');
    expect(result.text).toBe('go forward ten meters');
    expect(result.audioDurationMs).toBe(2786);
    expect(result.audioFormat).toBe('pcm16k16bit');
    expect(result.traceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.segments.length).toBeGreaterThan(0);
    for (const seg of result.segments) {
      expect(seg.is_final).toBe(true);
      expect(seg.end_time).toBeGreaterThanOrEqual(seg.start_time);
      expect(seg.end_time).toBeLessThanOrEqual(result.audioDurationMs + 100);
      expect(seg.result?.word_info?.length).toBeGreaterThan(0);
    }
    expect(progress.at(-1)).toEqual([1, 2786]);
    // Reported as the audio is fed (64 KiB reads: 89 KB of audio gives a step before the end).
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.map(([f]) => f)).toEqual([...progress.map(([f]) => f)].sort((a, b) => a - b));
    expect(toSrt(result.segments)).toMatch(/^1\n00:00:0\d,\d{3} --> 00:00:0\d,\d{3}\ngo forward ten meters\n/);
  });

  it.skipIf(soxTool.skip)('decodes µ-law WAV to PCM before the engine', async () => {
    soxTool.require();
    const wav = join(dir, 'goforward-ulaw.wav');
    const sox = spawnSync('sox', ['-t', 'raw', '-r', '16000', '-e', 'signed-integer', '-b', '16', '-c', '1', GOFORWARD, '-e', 'u-law', wav]);
    expect(sox.status, sox.stderr?.toString()).toBe(0);
    const result = await transcribe({
      audio: await readFile(wav),
      request: { property: 'english_16k_common' },
      engine: 'local',
    });
    expect(result.audioFormat).toBe('ulaw16k8bit');
    expect(result.text).toBe('go forward ten meters');
  });

  it('refuses a property of another sample rate before starting the engine', async () => {
    await expect(
      transcribe({ audio: GOFORWARD, format: 'pcm16k16bit', request: { property: 'chinese_8k_common' }, engine: 'local' }),
    ).rejects.toMatchObject({ code: 'OBSQ_SIS', permanent: true, details: { error_code: 'SIS.0301' } });
  });
});
