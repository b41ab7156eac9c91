import { describe, expect, it } from 'vitest';
import { audioBytesToMs, propertySampleRate, SIS_AUDIO_FORMAT_INFO } from './audioFormats.js';
import { parseClientCommand } from './clientCommands.js';
import { isRetryableSisCode } from './errorCodes.js';

const start = (config: Record<string, unknown>) => JSON.stringify({ command: 'START', config });

describe('parseClientCommand', () => {
  it('accepts the Python SDK default START and the doc example', () => {
    const sdk = { audio_format: 'pcm16k16bit', property: 'chinese_16k_general', add_punc: 'no', digit_norm: 'yes', vad_head: 10000, vad_tail: 500, max_seconds: 30, interim_results: 'no', vad_threshold: 0, need_word_info: 'no' };
    expect(parseClientCommand(start(sdk))).toEqual({ ok: true, value: { command: 'START', config: sdk } });
    const doc = '{"command":"START","config":{"audio_format":"ulaw8k8bit","property":"chinese_8k_common","add_punc":"yes","vad_tail":400,"interim_results":"yes","need_word_info":"yes"}}';
    expect(parseClientCommand(doc).ok).toBe(true);
  });

  it('accepts END with boolean or string cancel', () => {
    expect(parseClientCommand('{"command":"END","cancel":false}')).toEqual({ ok: true, value: { command: 'END', cancel: false } });
    expect(parseClientCommand('{"command": "END", "cancel": "false"}')).toEqual({ ok: true, value: { command: 'END', cancel: false } });
    expect(parseClientCommand('{"command":"END","cancel":"true"}')).toEqual({ ok: true, value: { command: 'END', cancel: true } });
    expect(parseClientCommand('{"command":"END"}')).toEqual({ ok: true, value: { command: 'END', cancel: false } });
  });

  it.each([
    ['not JSON', 'x', 'SIS.0032'],
    ['unknown command', '{"command":"PAUSE"}', 'SIS.0032'],
    ['bad cancel', '{"command":"END","cancel":1}', 'SIS.0032'],
    ['no config', '{"command":"START"}', 'SIS.0012'],
    ['no audio_format', start({ property: 'chinese_16k_general' }), 'SIS.0012'],
    ['bad audio_format', start({ audio_format: 'mp3', property: 'chinese_16k_general' }), 'SIS.0032'],
    ['rate mismatch', start({ audio_format: 'pcm8k16bit', property: 'chinese_16k_general' }), 'SIS.0301'],
    ['unknown key', start({ audio_format: 'pcm16k16bit', property: 'chinese_16k_general', foo: 1 }), 'SIS.0031'],
    ['vad_tail out of range', start({ audio_format: 'pcm16k16bit', property: 'chinese_16k_general', vad_tail: 3001 }), 'SIS.0032'],
    ['max_seconds zero', start({ audio_format: 'pcm16k16bit', property: 'chinese_16k_general', max_seconds: 0 }), 'SIS.0032'],
    ['boolean instead of yes/no', start({ audio_format: 'pcm16k16bit', property: 'chinese_16k_general', need_word_info: true }), 'SIS.0032'],
  ])('rejects %s', (_n, text, code) => {
    expect(parseClientCommand(text)).toMatchObject({ ok: false, code });
  });
});

describe('audio formats and codes', () => {
  it('knows rates and frame limits', () => {
    expect(SIS_AUDIO_FORMAT_INFO.alaw8k8bit).toMatchObject({ sampleRate: 8000, frame: { minBytes: 160, maxBytes: 32768 } });
    expect(SIS_AUDIO_FORMAT_INFO.pcm16k16bit).toMatchObject({ sampleRate: 16000, frame: { minBytes: 320, maxBytes: 65536 } });
    expect(propertySampleRate('chinese_8k_common')).toBe(8000);
    expect(propertySampleRate('english_16k_general')).toBe(16000);
    expect(propertySampleRate('chinese')).toBeUndefined();
    expect(audioBytesToMs('pcm16k16bit', 3200)).toBe(100);
    expect(audioBytesToMs('ulaw8k8bit', 800)).toBe(100);
  });

  it('classifies error codes', () => {
    expect(isRetryableSisCode('SIS.0304')).toBe(true);
    expect(isRetryableSisCode('SIS.0301')).toBe(false);
    expect(isRetryableSisCode('APIGW.0301')).toBe(false);
    expect(isRetryableSisCode('SIS.9999')).toBe(true);
  });
});
