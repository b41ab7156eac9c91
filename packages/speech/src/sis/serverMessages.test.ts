import { describe, expect, it } from 'vitest';
import { parseServerMessage } from './serverMessages.js';

describe('parseServerMessage', () => {
  it('parses every documented message', () => {
    const t = '567e8537-a89c-13c3-a882-826321939651';
    expect(parseServerMessage(`{"resp_type":"START","trace_id":"${t}"}`)).toEqual({ resp_type: 'START', trace_id: t });
    expect(parseServerMessage(`{"resp_type":"EVENT","trace_id":"${t}","event":"VOICE_END","timestamp":1500}`)).toMatchObject({ event: 'VOICE_END' });
    expect(parseServerMessage(`{"resp_type":"END","trace_id":"${t}","reason":"NORMAL"}`)).toMatchObject({ reason: 'NORMAL' });
    expect(parseServerMessage('{"resp_type":"ERROR","error_code":"SIS.0002","error_msg":"***"}')).toMatchObject({ resp_type: 'ERROR', error_code: 'SIS.0002' });
    expect(parseServerMessage(`{"resp_type":"FATAL_ERROR","trace_id":"${t}","error_code":"SIS.0304","error_msg":"wait voice timeout"}`)).toMatchObject({
      resp_type: 'FATAL_ERROR',
    });
    const result = parseServerMessage(
      JSON.stringify({
        resp_type: 'RESULT',
        trace_id: t,
        segments: [
          {
            start_time: 0,
            end_time: 5480,
            is_final: true,
            result: { text: '欢迎', score: 0.845, word_info: [{ start_time: 1700, end_time: 1800, word: '欢' }, { start_time: 1940, word: '迎' }] },
          },
          { start_time: 5480, end_time: 6000, is_final: false },
        ],
      }),
    );
    expect(result.resp_type === 'RESULT' && result.segments).toHaveLength(2);
  });

  it('tolerates unknown events and reasons, drops unknown keys', () => {
    expect(parseServerMessage('{"resp_type":"EVENT","trace_id":"t","event":"NEW_THING","x":1}')).toEqual({ resp_type: 'EVENT', trace_id: 't', event: 'NEW_THING' });
  });

  it.each([
    ['not JSON', 'hello', /not JSON/],
    ['unknown resp_type', '{"resp_type":"HELLO","trace_id":"t"}', /invalid message/],
    ['RESULT without segments', '{"resp_type":"RESULT","trace_id":"t"}', /segments/],
    ['float time', '{"resp_type":"RESULT","trace_id":"t","segments":[{"start_time":1.5,"end_time":2,"is_final":true}]}', /start_time/],
  ])('rejects %s with OBSQ_SIS', (_n, text, msg) => {
    expect(() => parseServerMessage(text)).toThrow(msg);
    try {
      parseServerMessage(text);
    } catch (err) {
      expect(err).toMatchObject({ code: 'OBSQ_SIS', permanent: true });
    }
  });
});
