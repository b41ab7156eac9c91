import { describe, expect, it } from 'vitest';
import {
  COPY_OBJECT_MAX_BYTES,
  ENDPOINT_FLAVOURS,
  MAX_PART_SIZE,
  PART_NUMBER_MAX,
  ValidationError,
  bucketNameIssues,
  copyPlan,
  normalizeRasrRequest,
  objectKeyIssues,
  parsePayload,
  partNumberIssues,
  payloadIssues,
  planParts,
  rasrRequestIssues,
  type JobName,
  type ValidationIssue,
} from '@obsq/shared';

/** A file pin as the producer takes it at enqueue (filePinOf). */
const PIN = { size: 16 * 1024 ** 3, mtimeMs: 1_700_000_000_123.456, ino: '1234', dev: '2049' };

/** Every rule, its exact message, and accepted neighbours: one table per family, shared by enqueue and worker. */

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

function rules(issues: ValidationIssue[]): string[] {
  return issues.map((i) => `${i.field}: ${i.rule}`);
}

function thrown(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    const e = err as ValidationError;
    expect(e.code).toBe('OBSQ_VALIDATION');
    expect(e.permanent).toBe(true);
    return rules(e.issues);
  }
  throw new Error('expected a ValidationError');
}

describe('bucket names (seed §5)', () => {
  const rejected: Array<[string, string[]]> = [
    ['ab', ['bucket: must be 3 to 63 characters long (got 2)']],
    ['a'.repeat(64), ['bucket: must be 3 to 63 characters long (got 64)']],
    ['', ['bucket: must be 3 to 63 characters long (got 0)']],
    [
      'Abc',
      ['bucket: must start with a lowercase letter or digit', `bucket: may contain only lowercase letters, digits, '-' and '.' (found "A")`],
    ],
    ['ab_c', [`bucket: may contain only lowercase letters, digits, '-' and '.' (found "_")`]],
    ['my bucket!', [`bucket: may contain only lowercase letters, digits, '-' and '.' (found " ", "!")`]],
    ['192.168.1.1', ['bucket: must not be an IP address']],
    ['-abc', ['bucket: must start with a lowercase letter or digit', "bucket: must not start or end with '-' or '.'"]],
    ['.abc', ['bucket: must start with a lowercase letter or digit', "bucket: must not start or end with '-' or '.'"]],
    ['abc-', ["bucket: must not start or end with '-' or '.'"]],
    ['abc.', ["bucket: must not start or end with '-' or '.'"]],
    ['my..bucket', ["bucket: must not contain two adjacent periods ('..')"]],
    ['my-.bucket', ["bucket: must not have a period next to a hyphen ('-.' or '.-')"]],
    ['my.-bucket', ["bucket: must not have a period next to a hyphen ('-.' or '.-')"]],
    // Several broken rules at once: all are reported, not just the first.
    [
      '-A..',
      [
        'bucket: must start with a lowercase letter or digit',
        `bucket: may contain only lowercase letters, digits, '-' and '.' (found "A")`,
        "bucket: must not start or end with '-' or '.'",
        "bucket: must not contain two adjacent periods ('..')",
      ],
    ],
  ];
  it.each(rejected)('rejects %j', (name, expected) => {
    expect(rules(bucketNameIssues(name))).toEqual(expected);
  });

  it.each(['abc', 'a'.repeat(63), '0bucket', 'my-bucket', 'my.bucket.v2', 'a-b-c', '192.168.1', '1.2.3.4.5'])('accepts %j', (name) => {
    expect(bucketNameIssues(name)).toEqual([]);
  });

  it('names the field it is given', () => {
    expect(rules(bucketNameIssues('ab', 'target.bucket'))).toEqual(['target.bucket: must be 3 to 63 characters long (got 2)']);
  });
});

describe('object keys: 1..1024 UTF-8 bytes (seed §5)', () => {
  const table: Array<[string, string, string[]]> = [
    ['empty', '', ['key: must be 1 to 1024 bytes long in UTF-8 (got 0)']],
    ['1025 ASCII bytes', 'k'.repeat(1025), ['key: must be 1 to 1024 bytes long in UTF-8 (got 1025)']],
    // 342 CJK characters are only 342 characters but 1026 bytes.
    ['342 three-byte characters', '文'.repeat(342), ['key: must be 1 to 1024 bytes long in UTF-8 (got 1026)']],
    ['256 four-byte emoji + 1', '😀'.repeat(256) + 'x', ['key: must be 1 to 1024 bytes long in UTF-8 (got 1025)']],
    ['1 byte', 'k', []],
    ['1024 ASCII bytes', 'k'.repeat(1024), []],
    ['341 three-byte characters + 1', '文'.repeat(341) + 'x', []],
    ['folder path', 'folder/test.txt', []],
  ];
  it.each(table)('%s', (_what, key, expected) => {
    expect(rules(objectKeyIssues(key))).toEqual(expected);
  });
});

describe('part numbers 1..10000', () => {
  it.each([
    [0, ['partNumber: must be an integer from 1 to 10000 (got 0)']],
    [10_001, ['partNumber: must be an integer from 1 to 10000 (got 10001)']],
    [-1, ['partNumber: must be an integer from 1 to 10000 (got -1)']],
    [1.5, ['partNumber: must be an integer from 1 to 10000 (got 1.5)']],
    ['3', ['partNumber: must be an integer from 1 to 10000 (got "3")']],
    [1, []],
    [10_000, []],
  ] as Array<[unknown, string[]]>)('%j', (n, expected) => {
    expect(rules(partNumberIssues(n))).toEqual(expected);
  });
});

describe('part size bounds per endpoint flavour', () => {
  const obsMin = ENDPOINT_FLAVOURS.obs.minPartSize;
  const s3Min = ENDPOINT_FLAVOURS.s3.minPartSize;
  it('has the documented minimums', () => {
    expect(obsMin).toBe(100 * KiB);
    expect(s3Min).toBe(5 * MiB);
    expect(MAX_PART_SIZE).toBe(5 * GiB);
  });
  const table: Array<[string, number, number, string[]]> = [
    ['obs: 100 KiB - 1', obsMin, obsMin - 1, ['partSize: must be at least 102400 bytes (100 KiB) for this endpoint (got 102399)']],
    ['s3: 5 MiB - 1', s3Min, s3Min - 1, ['partSize: must be at least 5242880 bytes (5 MiB) for this endpoint (got 5242879)']],
    ['s3: 100 KiB', s3Min, 100 * KiB, ['partSize: must be at least 5242880 bytes (5 MiB) for this endpoint (got 102400)']],
    ['5 GiB + 1', obsMin, MAX_PART_SIZE + 1, ['partSize: must be at most 5368709120 bytes (5 GiB) (got 5368709121)']],
    ['zero', obsMin, 0, ['partSize: must be a positive integer number of bytes (got 0)']],
    ['fraction', obsMin, 1.5 * MiB + 0.5, ['partSize: must be a positive integer number of bytes (got 1572864.5)']],
  ];
  it.each(table)('refuses %s', (_what, minPartSize, partSize, expected) => {
    expect(thrown(() => planParts({ size: 10 * MiB, partSize, minPartSize }))).toEqual(expected);
  });
  it.each([
    ['obs: exactly 100 KiB', obsMin, obsMin],
    ['s3: exactly 5 MiB', s3Min, s3Min],
    ['exactly 5 GiB', s3Min, MAX_PART_SIZE],
  ])('accepts %s', (_what, minPartSize, partSize) => {
    expect(planParts({ size: 10 * MiB, partSize, minPartSize }).partSize).toBe(partSize);
  });
});

describe('10,001-part refusal', () => {
  it('refuses an explicit part size that would need 10001 parts', () => {
    const partSize = 5 * MiB;
    expect(thrown(() => planParts({ size: PART_NUMBER_MAX * partSize + 1, partSize, minPartSize: partSize }))).toEqual([
      'partSize: 5242880 bytes would split 52428800001 bytes into 10001 parts, more than the 10000 allowed; use at least 5242881 bytes (5 MiB)',
    ]);
  });
  it('accepts exactly 10000 parts', () => {
    const partSize = 5 * MiB;
    const plan = planParts({ size: PART_NUMBER_MAX * partSize, partSize, minPartSize: partSize });
    expect(plan.partCount).toBe(10_000);
  });
  it('refuses a source larger than 10000 parts of 5 GiB', () => {
    expect(thrown(() => planParts({ size: PART_NUMBER_MAX * MAX_PART_SIZE + 1, minPartSize: 5 * MiB }))).toEqual([
      'size: must be at most 53687091200000 bytes (48.83 TiB) (10000 parts of 5 GiB) (got 53687091200001)',
    ]);
  });
});

describe('copy threshold (CopyObject <= 5 GiB)', () => {
  it('is 5 GiB', () => {
    expect(COPY_OBJECT_MAX_BYTES).toBe(5 * GiB);
  });
  it('refuses a threshold above 5 GiB', () => {
    expect(thrown(() => copyPlan({ size: 1, threshold: COPY_OBJECT_MAX_BYTES + 1, minPartSize: 5 * MiB }))).toEqual([
      'threshold: must be an integer from 0 to 5368709120 bytes (5 GiB) (got 5368709121)',
    ]);
  });
  it.each([
    [COPY_OBJECT_MAX_BYTES, COPY_OBJECT_MAX_BYTES, 'single'],
    [COPY_OBJECT_MAX_BYTES + 1, COPY_OBJECT_MAX_BYTES, 'multipart'],
    [100 * MiB, 100 * MiB, 'single'],
    [100 * MiB + 1, 100 * MiB, 'multipart'],
    [0, 0, 'single'],
  ])('size %d with threshold %d is %s', (size, threshold, mode) => {
    expect(copyPlan({ size, threshold, minPartSize: 5 * MiB }).mode).toBe(mode);
  });
});

describe('RASR request (seed §8)', () => {
  const base = { audioFormat: 'pcm16k16bit', property: 'chinese_16k_general' };
  const table: Array<[string, Record<string, unknown>, string[]]> = [
    ['vadHead -1', { vadHead: -1 }, ['request.vadHead: must be an integer from 0 to 60000 ms (got -1)']],
    ['vadHead 60001', { vadHead: 60_001 }, ['request.vadHead: must be an integer from 0 to 60000 ms (got 60001)']],
    ['vadTail -1', { vadTail: -1 }, ['request.vadTail: must be an integer from 0 to 3000 ms (got -1)']],
    ['vadTail 3001', { vadTail: 3001 }, ['request.vadTail: must be an integer from 0 to 3000 ms (got 3001)']],
    ['maxSeconds 0', { maxSeconds: 0 }, ['request.maxSeconds: must be an integer from 1 to 60 seconds (got 0)']],
    ['maxSeconds 61', { maxSeconds: 61 }, ['request.maxSeconds: must be an integer from 1 to 60 seconds (got 61)']],
    ['maxSeconds 1.5', { maxSeconds: 1.5 }, ['request.maxSeconds: must be an integer from 1 to 60 seconds (got 1.5)']],
    ['addPunc maybe', { addPunc: 'maybe' }, ['request.addPunc: must be "yes" or "no" (got "maybe")']],
    ['digitNorm YES', { digitNorm: 'YES' }, ['request.digitNorm: must be "yes" or "no" (got "YES")']],
    ['interimResults 1', { interimResults: 1 }, ['request.interimResults: must be "yes" or "no" (got 1)']],
    ['needWordInfo ""', { needWordInfo: '' }, ['request.needWordInfo: must be "yes" or "no" (got "")']],
    [
      'unknown format',
      { audioFormat: 'mp3' },
      ['request.audioFormat: must be one of pcm16k16bit, pcm8k16bit, ulaw16k8bit, ulaw8k8bit, alaw16k8bit, alaw8k8bit (got "mp3")'],
    ],
    [
      '8k property, 16k format',
      { property: 'chinese_8k_common' },
      ['request.property: sample rate 8k does not match request.audioFormat pcm16k16bit'],
    ],
    [
      '16k property, 8k format',
      { audioFormat: 'ulaw8k8bit', property: 'english_16k_general' },
      ['request.property: sample rate 16k does not match request.audioFormat ulaw8k8bit'],
    ],
    [
      'property without a rate',
      { property: 'chinese' },
      ['request.property: must look like language_sampleRate_domain, e.g. chinese_16k_general (got "chinese")'],
    ],
    ['property at 48k', { property: 'chinese_48k_general' }, ['request.property: sample rate must be 8k or 16k (got 48k)']],
    [
      'empty vocabularyId',
      { vocabularyId: '' },
      ['request.vocabularyId: must be a non-empty string without spaces; omit it when there is no hot-word table'],
    ],
    ['unknown field', { vad_head: 1 }, ['request.vad_head: is not a known field']],
    ['missing format', { audioFormat: undefined }, ['request.audioFormat: is required']],
  ];
  it.each(table)('rejects %s', (_what, patch, expected) => {
    const input = { ...base, ...patch };
    for (const [k, v] of Object.entries(input)) if (v === undefined) delete input[k as keyof typeof input];
    expect(rules(rasrRequestIssues(input))).toEqual(expected);
    // The catalog reports the same messages at the same paths.
    expect(rules(payloadIssues('transcribe-audio-file', { audio: { kind: 'file', path: '/a.pcm', pin: PIN }, request: input, engine: 'sis' }))).toEqual(
      expected,
    );
  });

  it.each([
    ['bounds low', { vadHead: 0, vadTail: 0, maxSeconds: 1 }],
    ['bounds high', { vadHead: 60_000, vadTail: 3_000, maxSeconds: 60 }],
    ['yes/no strings', { addPunc: 'yes', digitNorm: 'no', interimResults: 'yes', needWordInfo: 'no' }],
    ['booleans', { addPunc: true, digitNorm: false, interimResults: true, needWordInfo: false }],
    ['8k pair', { audioFormat: 'alaw8k8bit', property: 'chinese_8k_common' }],
    ['16k pair', { audioFormat: 'ulaw16k8bit', property: 'english_16k_general' }],
  ])('accepts %s', (_what, patch) => {
    expect(rasrRequestIssues({ ...base, ...patch })).toEqual([]);
  });

  it('maps booleans to yes/no and fills the defaults', () => {
    expect(normalizeRasrRequest({ ...base, addPunc: true, digitNorm: false })).toEqual({
      ...base,
      addPunc: 'yes',
      digitNorm: 'no',
      vadHead: 10_000,
      vadTail: 500,
      maxSeconds: 30,
      interimResults: 'no',
      needWordInfo: 'no',
    });
  });
});

describe('catalog payload rules', () => {
  const uploadPart = {
    uploadId: 'u-1',
    bucket: 'my-bucket',
    key: 'big/file.bin',
    partNumber: 1,
    offset: 0,
    size: 8 * MiB,
    totalParts: 2,
    source: { kind: 'file', path: '/data/file.bin', pin: PIN },
  };
  const copyObject = {
    mode: 'single',
    source: { bucket: 'src-bucket', key: 'a.bin' },
    target: { bucket: 'dst-bucket', key: 'b.bin' },
  };
  const transcribe = {
    audio: { kind: 'object', bucket: 'audio-bucket', key: 'talk.pcm' },
    request: { audioFormat: 'pcm16k16bit', property: 'chinese_16k_general' },
    engine: 'sis',
  };

  const table: Array<[string, JobName, Record<string, unknown>, string[]]> = [
    ['bucket rule inside a payload', 'upload-part', { ...uploadPart, bucket: 'ab' }, ['bucket: must be 3 to 63 characters long (got 2)']],
    ['key bytes inside a payload', 'upload-part', { ...uploadPart, key: '文'.repeat(342) }, ['key: must be 1 to 1024 bytes long in UTF-8 (got 1026)']],
    ['part number 0', 'upload-part', { ...uploadPart, partNumber: 0 }, ['partNumber: must be an integer from 1 to 10000 (got 0)']],
    ['part number 10001', 'upload-part', { ...uploadPart, partNumber: 10_001, totalParts: 10_000 }, ['partNumber: must be an integer from 1 to 10000 (got 10001)']],
    ['totalParts 10001', 'upload-part', { ...uploadPart, totalParts: 10_001 }, ['totalParts: must be an integer from 1 to 10000 (got 10001)']],
    ['part beyond totalParts', 'upload-part', { ...uploadPart, partNumber: 3 }, ['partNumber: must be at most totalParts 2 (got 3)']],
    ['part size over 5 GiB', 'upload-part', { ...uploadPart, size: MAX_PART_SIZE + 1 }, ['size: must be an integer from 0 to 5368709120 bytes (got 5368709121)']],
    ['negative offset', 'upload-part', { ...uploadPart, offset: -1 }, ['offset: must be a non-negative integer (got -1)']],
    ['file source without its pin', 'upload-part', { ...uploadPart, source: { kind: 'file', path: '/data/file.bin' } }, ['source.pin: is required']],
    ['pin inode not a number', 'upload-part', { ...uploadPart, source: { kind: 'file', path: '/d', pin: { ...PIN, ino: '-1' } } }, ['source.pin.ino: must be a decimal integer (got "-1")']],
    [
      'part past the pinned size',
      'upload-part',
      { ...uploadPart, source: { kind: 'file', path: '/d', pin: { ...PIN, size: MiB } } },
      ['size: offset + size (8388608) must not pass the end of source.pin.size (1048576)'],
    ],
    ['relative file path', 'upload-part', { ...uploadPart, source: { kind: 'file', path: 'data/x', pin: PIN } }, ['source.path: must be an absolute path (got "data/x")']],
    [
      'dot-dot in file path',
      'upload-part',
      { ...uploadPart, source: { kind: 'file', path: '/data/../etc/passwd', pin: PIN } },
      [`source.path: must be normalised, without '.', '..' or empty segments (got "/data/../etc/passwd", meaning "/etc/passwd")`],
    ],
    [
      'signed source URL',
      'upload-part',
      { ...uploadPart, source: { kind: 'url', url: 'https://h/o?X-Amz-Signature=abc', size: 16 * MiB } },
      [
        'source.url: must not carry a signature or credential: query parameter "X-Amz-Signature" looks like a credential, and job payloads are stored in Redis in clear text (serve the file without it, or upload it from a file)',
      ],
    ],
    [
      'ftp source URL',
      'upload-part',
      { ...uploadPart, source: { kind: 'url', url: 'ftp://h/o', size: 16 * MiB } },
      ['source.url: must use http or https (got ftp)'],
    ],
    ['unknown source kind', 'upload-part', { ...uploadPart, source: { kind: 's3' } }, ['source.kind: must be one of "file", "url" (got "s3")']],
    ['bad Content-MD5', 'upload-part', { ...uploadPart, contentMd5: 'abc' }, ['contentMd5: must be a base64 MD5 digest (24 characters ending in "==")']],
    ['secret smuggled in', 'upload-part', { ...uploadPart, secretAccessKey: 'x' }, ['secretAccessKey: is not a known field']],
    ['missing field', 'upload-part', { ...uploadPart, totalParts: undefined }, ['totalParts: is required']],
    ['neither uploadId nor initiate', 'upload-part', { ...uploadPart, uploadId: undefined }, ['uploadId: exactly one of uploadId and initiate must be given']],
    ['both uploadId and initiate', 'upload-part', { ...uploadPart, initiate: {} }, ['uploadId: exactly one of uploadId and initiate must be given']],
    ['wrong type', 'upload-part', { ...uploadPart, offset: '0' }, ['offset: must be a number (got "0")']],
    [
      'metadata key with capitals',
      'copy-object',
      { ...copyObject, metadataDirective: 'REPLACE', metadata: { Author: 'x' } },
      [`metadata.Author: key may contain only lowercase letters, digits, '-', '_' and '.'`],
    ],
    [
      'metadata key with a space',
      'copy-object',
      { ...copyObject, metadataDirective: 'REPLACE', metadata: { 'my key': 'x' } },
      [`metadata["my key"]: key may contain only lowercase letters, digits, '-', '_' and '.'`],
    ],
    [
      'metadata over 8 KiB',
      'copy-object',
      { ...copyObject, metadataDirective: 'REPLACE', metadata: { a: 'x'.repeat(8 * KiB) } },
      ['metadata: keys and values together must be at most 8192 bytes in UTF-8 (got 8193)'],
    ],
    [
      'metadata with COPY directive',
      'copy-object',
      { ...copyObject, metadata: { a: 'b' } },
      [`metadata: is only allowed when metadataDirective is "REPLACE" (with "COPY" the source's is kept)`],
    ],
    [
      'part mode without its fields',
      'copy-object',
      { ...copyObject, mode: 'part' },
      ['uploadId: is required when mode is "part"', 'partNumber: is required when mode is "part"', 'range: is required when mode is "part"'],
    ],
    [
      'single mode with part fields',
      'copy-object',
      { ...copyObject, uploadId: 'u', partNumber: 1, range: { start: 0, end: 9 } },
      ['uploadId: is only allowed when mode is "part"', 'partNumber: is only allowed when mode is "part"', 'range: is only allowed when mode is "part"'],
    ],
    [
      'reversed range',
      'copy-object',
      { ...copyObject, mode: 'part', uploadId: 'u', partNumber: 1, range: { start: 10, end: 9 } },
      ['range.end: must be at least start 10 (got 9)'],
    ],
    [
      'range over 5 GiB',
      'copy-object',
      { ...copyObject, mode: 'part', uploadId: 'u', partNumber: 1, range: { start: 0, end: MAX_PART_SIZE } },
      ['range: must cover at most 5368709120 bytes (got 5368709121)'],
    ],
    ['copy complete without source', 'complete-multipart', { kind: 'copy', uploadId: 'u', bucket: 'abc', key: 'k', totalParts: 1, size: 0 }, ['source: is required when kind is "copy"']],
    ['empty output formats', 'transcribe-audio-file', { ...transcribe, output: { bucket: 'out-bucket', prefix: 'p/', formats: [] } }, ['output.formats: must list at least one of json, srt, vtt, txt']],
    ['repeated output format', 'transcribe-audio-file', { ...transcribe, output: { bucket: 'out-bucket', prefix: 'p/', formats: ['srt', 'srt'] } }, ['output.formats: must not repeat a format (got srt twice)']],
    ['unknown output format', 'transcribe-audio-file', { ...transcribe, output: { bucket: 'out-bucket', prefix: 'p/', formats: ['doc'] } }, ['output.formats[0]: must be one of "json", "srt", "vtt", "txt" (got "doc")']],
    ['unknown mode', 'transcribe-audio-file', { ...transcribe, mode: 'stream' }, ['mode: must be one of "continue-stream", "sentence-stream", "short-stream" (got "stream")']],
  ];
  it.each(table)('rejects %s', (_what, name, data, expected) => {
    const payload = Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined));
    expect(rules(payloadIssues(name, payload))).toEqual(expected);
    expect(thrown(() => parsePayload(name, payload))).toEqual(expected);
  });

  it('accepts valid payloads and fills defaults', () => {
    expect(parsePayload('upload-part', uploadPart)).toEqual(uploadPart);
    expect(parsePayload('copy-object', copyObject)).toEqual({ ...copyObject, metadataDirective: 'COPY' });
    expect(
      parsePayload('copy-object', { ...copyObject, metadataDirective: 'REPLACE', metadata: { 'x-y_z.1': 'v' }, contentType: 'text/plain; charset=utf-8' }),
    ).toMatchObject({ metadata: { 'x-y_z.1': 'v' } });
    expect(parsePayload('copy-object', { ...copyObject, mode: 'part', uploadId: 'u', partNumber: 2, range: { start: 0, end: MAX_PART_SIZE - 1 } })).toMatchObject({
      mode: 'part',
    });
    expect(parsePayload('complete-multipart', { kind: 'copy', uploadId: 'u', bucket: 'abc', key: 'k', totalParts: 1, size: 0, source: { bucket: 'abc', key: 'j' } })).toMatchObject({
      kind: 'copy',
    });
    const t = parsePayload('transcribe-audio-file', { ...transcribe, request: { ...transcribe.request, addPunc: true }, output: { bucket: 'out-bucket', prefix: '', formats: ['json', 'srt', 'vtt', 'txt'] } });
    expect(t.mode).toBe('continue-stream');
    expect(t.request).toMatchObject({ addPunc: 'yes', digitNorm: 'yes', vadHead: 10_000, vadTail: 500, maxSeconds: 30 });
  });
});
