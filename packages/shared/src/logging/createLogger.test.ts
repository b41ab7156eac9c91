import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, flushLogger } from './createLogger.js';
import { jobLogger } from './jobLogger.js';
import { REDACT_LIMITS, redactDeep } from './redactDeep.js';
import { redactUrl } from './redactUrl.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  const logger = createLogger({ service: 'obsq-test', version: '1.2.3', level: 'debug', destination });
  return { logger, lines, json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('binds service and version and puts errors under err', () => {
    const { logger, json } = capture();
    logger.error({ err: new Error('boom') }, 'failed');
    const [line] = json();
    expect(line).toMatchObject({ service: 'obsq-test', version: '1.2.3', msg: 'failed', err: { type: 'Error', message: 'boom' } });
  });

  it('caps long fields and error messages with their length noted', () => {
    const { logger, lines, json } = capture();
    const huge = 'k'.repeat(10 * 1024 * 1024);
    logger.error({ key: huge, nested: { url: `https://h/${huge}` }, err: new Error(`bad key ${huge}`) }, 'refused');
    expect(lines[0]!.length).toBeLessThan(20_000);
    const [line] = json() as Array<{ key: string; nested: { url: string }; err: { message: string; stack: string } }>;
    expect(line!.key).toMatch(/^k{2048}… \[truncated, 10485760 chars\]$/);
    expect(line!.nested.url).toMatch(/truncated, 10485770 chars/);
    expect(line!.err.message).toMatch(/^bad key k+… \[truncated, 10485768 chars\]$/);
  });

  it('redacts secrets by key, and auth headers', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        secretAccessKey: 'S1',
        accessKeyId: 'A1',
        obs: { secretAccessKey: 'S2', securityToken: 'T2', endpoint: 'https://obs.example.com' },
        config: { sis: { sk: 'S3', ak: 'A3', token: 'T3' }, redis: { password: 'P3' } },
        req: { headers: { authorization: 'OBS A:sig', 'x-auth-token': 'T4' } },
        headers: { authorization: 'AWS4-HMAC-SHA256 Credential=A5/..., Signature=abcd', 'x-amz-security-token': 'T5' },
        upstream: { Authorization: 'SDK-HMAC-SHA256 Access=A6', signature: 'S6' },
      },
      'secrets',
    );
    const text = lines.join('\n');
    for (const s of ['S1', 'A1', 'S2', 'T2', 'S3', 'A3', 'T3', 'P3', 'OBS A:sig', 'T4', 'abcd', 'T5', 'A6', 'S6']) {
      expect(text).not.toContain(`"${s}`);
    }
    expect(text).toContain('https://obs.example.com');
  });

  it('redacts secrets at any depth, in arrays and in error properties', () => {
    const { logger, lines, json } = capture();
    const deep = { a: { b: { c: { secretAccessKey: 'DEEP1' } } } };
    const err = Object.assign(new Error('upload failed'), {
      request: { headers: { Authorization: 'OBS AK:DEEP5' } },
      cause: Object.assign(new Error('inner'), { config: { obs: { SecretAccessKey: 'DEEP6' } } }),
    });
    logger.info(
      {
        deep,
        list: [{ sk: 'DEEP2' }, [{ nested: { password: 'DEEP3' } }], 'plain'],
        l1: { l2: { l3: { l4: { l5: { l6: { l7: { l8: { token: 'DEEP4' } } } } } } } },
        err,
      },
      'deep',
    );
    const text = lines.join('\n');
    for (const s of ['DEEP1', 'DEEP2', 'DEEP3', 'DEEP4', 'DEEP5', 'DEEP6']) expect(text).not.toContain(s);
    const [line] = json();
    expect(line?.['deep']).toEqual({ a: { b: { c: { secretAccessKey: '[REDACTED]' } } } });
    expect(line?.['list']).toEqual([{ sk: '[REDACTED]' }, [{ nested: { password: '[REDACTED]' } }], 'plain']);
    expect(line?.['err']).toMatchObject({ type: 'Error', message: 'upload failed: inner', request: { headers: { Authorization: '[REDACTED]' } } });
    // The caller's objects are untouched.
    expect(deep.a.b.c.secretAccessKey).toBe('DEEP1');
    expect((err as unknown as { request: { headers: { Authorization: string } } }).request.headers.Authorization).toBe('OBS AK:DEEP5');
  });

  it('stays bounded: cycles, very deep and very wide values neither crash nor leak', () => {
    const { logger, lines, json } = capture();
    const cyclic: Record<string, unknown> = { name: 'loop', secretAccessKey: 'CYC1' };
    cyclic['self'] = cyclic;
    cyclic['list'] = [cyclic, { ak: 'CYC2' }];
    let deep: Record<string, unknown> = { secretAccessKey: 'TOO-DEEP' };
    for (let i = 0; i < REDACT_LIMITS.maxDepth + 10; i++) deep = { next: deep };
    const wide = Array.from({ length: REDACT_LIMITS.maxNodes + 10 }, (_, i) => ({ i, token: `WIDE${i}` }));
    const big = Buffer.alloc(1024 * 1024, 1);
    const t0 = performance.now();
    logger.info({ cyclic, deep, wide, big: { bytes: big } }, 'bounded');
    const ms = performance.now() - t0;
    const text = lines.join('\n');
    for (const s of ['CYC1', 'CYC2', 'TOO-DEEP', 'WIDE1"', `WIDE${REDACT_LIMITS.maxNodes + 5}`]) expect(text).not.toContain(s);
    expect(text).toContain('[Circular]');
    expect(text).toContain('[Truncated]');
    expect(json()[0]?.['msg']).toBe('bounded');
    // Generous on any machine: the walk is linear and capped, the 1 MiB buffer is not walked.
    expect(ms).toBeLessThan(5_000);
  });

  it('redactDeep returns the same object when there is nothing to redact', () => {
    const clean = { a: [1, { b: 'x' }], when: new Date(0), bytes: Buffer.from('abc') };
    expect(redactDeep(clean)).toBe(clean);
  });

  it('strips signatures and credentials from url fields, without touching the caller object', () => {
    const { logger, json } = capture();
    const req = {
      url: 'https://b.obs.example.com/k?AccessKeyId=AKX&Expires=1700000000&Signature=abc%2Fdef',
      method: 'GET',
    };
    logger.info({ req, sourceUrl: 'https://s3/x?X-Amz-Credential=AKX%2F20240101&X-Amz-Signature=ff&partNumber=2', urls: ['redis://:pw@h:1'] }, 'u');
    logger.info({ url: '/bucket/key?x-amz-security-token=TT&uploadId=9' }, 'top');
    const [a, b] = json();
    expect((a?.['req'] as { url: string }).url).toBe('https://b.obs.example.com/k?AccessKeyId=REDACTED&Expires=1700000000&Signature=REDACTED');
    expect(a?.['sourceUrl']).toBe('https://s3/x?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&partNumber=2');
    expect(a?.['urls']).toEqual(['redis://REDACTED@h:1']);
    expect(b?.['url']).toBe('/bucket/key?x-amz-security-token=REDACTED&uploadId=9');
    expect(req.url).toContain('Signature=abc');
  });

  it('makes job child loggers with the job context', async () => {
    const { logger, json } = capture();
    jobLogger(logger, { queue: 'upload-part', jobId: '42', attempt: 2, attempts: 10 }).info('done');
    await flushLogger(logger);
    expect(json()[0]).toMatchObject({ queue: 'upload-part', jobId: '42', attempt: 2, attempts: 10, service: 'obsq-test' });
  });
});

describe('redactUrl', () => {
  it.each([
    ['https://h/p?a=1', 'https://h/p?a=1'],
    ['https://h/p?Signature=x&a=1', 'https://h/p?Signature=REDACTED&a=1'],
    ['https://h/p?a=1&signature=x#frag', 'https://h/p?a=1&signature=REDACTED#frag'],
    ['https://user:pw@h/p', 'https://REDACTED@h/p'],
    ['not a url Signature=x', 'not a url Signature=x'],
  ])('%s', (input, output) => {
    expect(redactUrl(input)).toBe(output);
  });
});
