import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { ValidationError } from '@obsq/shared';

/** A byte range of a local file, read afresh on every attempt (so it can be retried). */
export interface FileRange {
  path: string;
  /** First byte offset. @defaultValue 0 */
  start?: number;
  /** Number of bytes. */
  length: number;
}

/**
 * A body of known length that can be produced again for each attempt, e.g. a range read through an
 * already open file descriptor (`FileHandle.createReadStream({ start, end, autoClose: false })`).
 */
export interface StreamFactory {
  /** Bytes every stream `open()` returns yields. */
  length: number;
  /** A fresh stream of the same bytes; called once per attempt. */
  open(): Readable;
}

/**
 * A request body. Buffers, strings, file ranges and stream factories can be replayed, so calls that
 * send them are retried; a Readable is one-shot, so a call that sends one is attempted once.
 */
export type BodyInput = Buffer | Uint8Array | string | FileRange | StreamFactory | Readable;

/** A body ready to send: `open()` gives fresh bytes for each attempt. */
export interface PreparedBody {
  /** Bytes, when known (sent as Content-Length). */
  length: number | undefined;
  replayable: boolean;
  open(): Buffer | Readable;
}

function isStreamFactory(v: unknown): v is StreamFactory {
  return typeof v === 'object' && v !== null && !(v instanceof Readable) && typeof (v as StreamFactory).open === 'function';
}

function isFileRange(v: unknown): v is FileRange {
  return typeof v === 'object' && v !== null && typeof (v as FileRange).path === 'string' && !(v instanceof Readable);
}

/** Normalises a {@link BodyInput}; `contentLength` must match when both are known. */
export function prepareBody(input: BodyInput, contentLength?: number): PreparedBody {
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    checkLength(contentLength, buf.length);
    return { length: buf.length, replayable: true, open: () => buf };
  }
  if (input instanceof Readable) {
    let used = false;
    return {
      length: contentLength,
      replayable: false,
      open: () => {
        if (used) throw new Error('a one-shot Readable body cannot be sent twice');
        used = true;
        return input;
      },
    };
  }
  if (isStreamFactory(input)) {
    if (!Number.isSafeInteger(input.length) || input.length < 0) throw new ValidationError([{ field: 'body.length', rule: 'must be a non-negative integer' }]);
    checkLength(contentLength, input.length);
    return { length: input.length, replayable: true, open: () => (input.length === 0 ? Buffer.alloc(0) : input.open()) };
  }
  if (isFileRange(input)) {
    const start = input.start ?? 0;
    if (!Number.isSafeInteger(start) || start < 0) throw new ValidationError([{ field: 'body.start', rule: 'must be a non-negative integer' }]);
    if (!Number.isSafeInteger(input.length) || input.length < 0) throw new ValidationError([{ field: 'body.length', rule: 'must be a non-negative integer' }]);
    checkLength(contentLength, input.length);
    return {
      length: input.length,
      replayable: true,
      open: () => (input.length === 0 ? Buffer.alloc(0) : createReadStream(input.path, { start, end: start + input.length - 1 })),
    };
  }
  throw new ValidationError([{ field: 'body', rule: 'must be a Buffer, string, { path, start, length } or Readable' }]);
}

/**
 * Base64 MD5 of an in-memory body (Buffer, Uint8Array, string), for `Content-MD5`; undefined for
 * file ranges and streams, whose digest the caller computes while it reads them anyway.
 */
export function inMemoryMd5(input: BodyInput | undefined): string | undefined {
  if (typeof input === 'string') return createHash('md5').update(input, 'utf8').digest('base64');
  if (input instanceof Uint8Array) return createHash('md5').update(input).digest('base64');
  return undefined;
}

function checkLength(declared: number | undefined, actual: number): void {
  if (declared !== undefined && declared !== actual) {
    throw new ValidationError([{ field: 'contentLength', rule: `must equal the body length (${actual}), got ${declared}` }]);
  }
}
