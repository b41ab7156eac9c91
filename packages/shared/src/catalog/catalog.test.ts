import { describe, expect, expectTypeOf, it } from 'vitest';
import type { BackoffStrategy } from 'bullmq';
import { backoffDelayMs, catalogBackoffStrategy, jobOptionsFor, OBSQ_BACKOFF_TYPE } from './backoff.js';
import { jobCatalog, type JobName, type JobPayload } from './jobCatalog.js';
import { isJobName, parsePayload } from './parsePayload.js';
import { QUEUE_NAMES, queuePrefix } from './queues.js';

describe('jobCatalog', () => {
  it('has the documented policies', () => {
    const policy = Object.fromEntries(
      Object.entries(jobCatalog).map(([name, d]) => [name, { attempts: d.attempts, timeoutMs: d.timeoutMs, backoff: d.backoff }]),
    );
    expect(policy).toEqual({
      'put-object': { attempts: 10, timeoutMs: 15 * 60_000, backoff: { type: 'exponential', delayMs: 1_000, maxDelayMs: 60_000, jitter: 0.5 } },
      'upload-part': { attempts: 10, timeoutMs: 15 * 60_000, backoff: { type: 'exponential', delayMs: 1_000, maxDelayMs: 60_000, jitter: 0.5 } },
      'complete-multipart': { attempts: 8, timeoutMs: 30 * 60_000, backoff: { type: 'exponential', delayMs: 1_000, maxDelayMs: 60_000, jitter: 0.5 } },
      'copy-object': { attempts: 8, timeoutMs: 30 * 60_000, backoff: { type: 'exponential', delayMs: 1_000, maxDelayMs: 60_000, jitter: 0.5 } },
      'transcribe-audio-file': { attempts: 5, timeoutMs: 120 * 60_000, backoff: { type: 'exponential', delayMs: 5_000, maxDelayMs: 300_000, jitter: 0.5 } },
      'scan-transcriptions': { attempts: 3, timeoutMs: 5 * 60_000, backoff: { type: 'exponential', delayMs: 1_000, maxDelayMs: 30_000, jitter: 0.5 } },
      'abort-stale-uploads': { attempts: 3, timeoutMs: 15 * 60_000, backoff: { type: 'exponential', delayMs: 5_000, maxDelayMs: 60_000, jitter: 0.5 } },
    });
  });

  it('refuses an abort-stale-uploads age under a minute (younger uploads are likely running)', () => {
    expect(parsePayload('abort-stale-uploads', { bucket: 'ingest', prefix: '', olderThanSeconds: 86_400 })).toEqual({ bucket: 'ingest', prefix: '', olderThanSeconds: 86_400 });
    expect(() => parsePayload('abort-stale-uploads', { bucket: 'ingest', prefix: 'a/', olderThanSeconds: 59 })).toThrow(/olderThanSeconds: must be/);
  });

  it('has one queue per job, named after it', () => {
    expect(QUEUE_NAMES).toEqual(['put-object', 'upload-part', 'complete-multipart', 'copy-object', 'transcribe-audio-file', 'scan-transcriptions', 'abort-stale-uploads']);
    expect(isJobName('upload-part')).toBe(true);
    expect(isJobName('toString')).toBe(false);
  });

  it('types handler maps so a missing handler fails to compile', () => {
    type Handlers = { [K in JobName]: (payload: JobPayload<K>) => Promise<void> };
    expectTypeOf<keyof Handlers>().toEqualTypeOf<'put-object' | 'upload-part' | 'complete-multipart' | 'copy-object' | 'transcribe-audio-file' | 'scan-transcriptions' | 'abort-stale-uploads'>();
    expectTypeOf<JobPayload<'transcribe-audio-file'>['request']['addPunc']>().toEqualTypeOf<'yes' | 'no'>();
    expectTypeOf<JobPayload<'copy-object'>['metadataDirective']>().toEqualTypeOf<'COPY' | 'REPLACE'>();
  });

  it('throws a permanent ValidationError for an unknown job name', () => {
    expect(() => parsePayload('nope' as JobName, {})).toThrow(
      'name: must be one of put-object, upload-part, complete-multipart, copy-object, transcribe-audio-file, scan-transcriptions, abort-stale-uploads (got "nope")',
    );
  });
});

describe('queuePrefix', () => {
  it.each([
    ['obsq', '{obsq}'],
    ['{obsq}', '{obsq}'],
    ['team:{obsq}', 'team:{obsq}'],
    ['a{}b', '{a{}b}'],
  ])('%s → %s', (input, output) => {
    expect(queuePrefix(input)).toBe(output);
  });
  it('refuses an empty prefix', () => {
    expect(() => queuePrefix('')).toThrow('prefix: must not be empty');
  });
});

describe('backoff', () => {
  const policy = jobCatalog['upload-part'].backoff;
  it('doubles from delayMs, caps at maxDelayMs, and jitters within [d*(1-j), d]', () => {
    expect([1, 2, 3, 6, 7, 8, 20].map((n) => backoffDelayMs(policy, n, () => 0.999999))).toEqual([999, 1999, 3999, 31_999, 59_999, 59_999, 59_999]);
    expect([1, 2, 7].map((n) => backoffDelayMs(policy, n, () => 0))).toEqual([500, 1000, 30_000]);
  });

  it('plugs into BullMQ as the worker backoffStrategy', () => {
    const strategy: BackoffStrategy = catalogBackoffStrategy;
    const d = strategy(10, OBSQ_BACKOFF_TYPE, new Error('x'), { name: 'upload-part', opts: {} } as never);
    expect(d).toBeGreaterThanOrEqual(30_000);
    expect(d).toBeLessThanOrEqual(60_000);
    expect(jobOptionsFor('transcribe-audio-file')).toEqual({ attempts: 5, backoff: { type: OBSQ_BACKOFF_TYPE, delay: 5_000 } });
  });
});
