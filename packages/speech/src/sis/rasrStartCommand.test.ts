import { describe, expect, it } from 'vitest';
import { normalizeRasrRequest, RASR_MODES, toRasrStartCommand } from '@obsq/shared';
import { parseClientCommand } from './clientCommands.js';

describe('toRasrStartCommand', () => {
  it('maps to the wire keys of the spec, defaults included, as the Python SDK sends them', () => {
    const req = normalizeRasrRequest({ audioFormat: 'pcm16k16bit', property: 'chinese_16k_general' });
    expect(JSON.stringify(toRasrStartCommand(req, 'continue-stream'))).toBe(
      '{"command":"START","config":{"audio_format":"pcm16k16bit","property":"chinese_16k_general","add_punc":"no","digit_norm":"yes","vad_head":10000,"vad_tail":500,"max_seconds":30,"interim_results":"no","need_word_info":"no"}}',
    );
  });

  it('sends vocabulary_id only when set, and leaves the timing fields out of short-stream', () => {
    const req = normalizeRasrRequest({
      audioFormat: 'ulaw8k8bit',
      property: 'chinese_8k_common',
      addPunc: true,
      interimResults: 'yes',
      needWordInfo: true,
      vadTail: 400,
      vocabularyId: 'b5a3c4d2-0000-4000-8000-000000000000',
    });
    expect(toRasrStartCommand(req, 'sentence-stream').config).toMatchObject({ vad_tail: 400, vocabulary_id: req.vocabularyId, add_punc: 'yes' });
    const short = toRasrStartCommand(req, 'short-stream').config;
    expect(short).not.toHaveProperty('vad_head');
    expect(short).not.toHaveProperty('vad_tail');
    expect(short).not.toHaveProperty('max_seconds');
    expect(short.need_word_info).toBe('yes');
  });

  it.each(RASR_MODES)('is accepted by the shared server-side START parser (%s)', (mode) => {
    const req = normalizeRasrRequest({ audioFormat: 'alaw8k8bit', property: 'chinese_8k_common', vocabularyId: 'v-1' });
    expect(parseClientCommand(JSON.stringify(toRasrStartCommand(req, mode)))).toMatchObject({ ok: true });
  });
});
