import { Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { S3Error } from '../errors/index.js';

const MAX_LINE = 8192;

type State = 'size' | 'data' | 'data-crlf' | 'trailer' | 'done';

/**
 * Decodes an `aws-chunked` body (`Content-Encoding: aws-chunked`), as @aws-sdk/client-s3 sends
 * with `STREAMING-UNSIGNED-PAYLOAD-TRAILER` or `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`:
 * `<hex-size>[;chunk-signature=…]\r\n<bytes>\r\n` … `0[;…]\r\n[<trailer>:<value>\r\n]*\r\n`.
 *
 * Emits only the payload bytes. Chunk signatures are NOT verified (the seed signature of the
 * request headers is); an `x-amz-checksum-crc32` trailer is checked when Node has `zlib.crc32`.
 */
export class AwsChunkedDecoder extends Transform {
  /** Trailer headers seen after the last chunk, names lower-cased. */
  readonly trailers: Record<string, string> = {};
  private state: State = 'size';
  private line = '';
  private remaining = 0;
  private crc = 0;
  private readonly crc32 = (zlib as { crc32?: (data: Buffer, value?: number) => number }).crc32;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      let i = 0;
      while (i < chunk.length) {
        if (this.state === 'data') {
          const n = Math.min(this.remaining, chunk.length - i);
          const piece = chunk.subarray(i, i + n);
          if (this.crc32) this.crc = this.crc32(piece, this.crc);
          this.push(piece);
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = 'data-crlf';
          continue;
        }
        if (this.state === 'done') {
          // Anything after the final empty line is garbage; S3 rejects it too.
          throw new S3Error('InvalidRequest', 'Unexpected bytes after the final aws-chunked chunk.');
        }
        const nl = chunk.indexOf(0x0a, i);
        const end = nl === -1 ? chunk.length : nl + 1;
        this.line += chunk.toString('latin1', i, end);
        i = end;
        if (this.line.length > MAX_LINE) throw malformed('line too long');
        if (nl === -1) continue;
        const line = this.line.replace(/\r?\n$/, '');
        this.line = '';
        this.onLine(line);
      }
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.state !== 'done') {
      cb(new S3Error('IncompleteBody', 'The aws-chunked body ended before its final chunk.'));
      return;
    }
    const expected = this.trailers['x-amz-checksum-crc32'];
    if (expected !== undefined && this.crc32) {
      const actual = Buffer.alloc(4);
      actual.writeUInt32BE(this.crc >>> 0);
      if (actual.toString('base64') !== expected) {
        cb(new S3Error('BadDigest', 'The CRC32 you specified did not match the calculated checksum.'));
        return;
      }
    }
    cb();
  }

  private onLine(line: string): void {
    switch (this.state) {
      case 'size': {
        const hex = line.split(';', 1)[0]?.trim() ?? '';
        if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) throw malformed(`bad chunk size ${JSON.stringify(hex)}`);
        this.remaining = parseInt(hex, 16);
        this.state = this.remaining === 0 ? 'trailer' : 'data';
        return;
      }
      case 'data-crlf':
        if (line !== '') throw malformed('missing CRLF after chunk data');
        this.state = 'size';
        return;
      case 'trailer': {
        if (line === '') {
          this.state = 'done';
          return;
        }
        const colon = line.indexOf(':');
        if (colon <= 0) throw malformed('bad trailer line');
        this.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        return;
      }
      default:
        throw malformed('unexpected state');
    }
  }
}

function malformed(why: string): S3Error {
  return new S3Error('InvalidRequest', `Malformed aws-chunked body: ${why}.`);
}
