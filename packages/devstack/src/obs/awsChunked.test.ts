import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AwsChunkedDecoder } from './awsChunked.js';

function frame(chunks: Buffer[], trailer = '', signed = false): Buffer {
  const sig = signed ? `;chunk-signature=${'a'.repeat(64)}` : '';
  const parts: Buffer[] = [];
  for (const c of chunks) parts.push(Buffer.from(`${c.length.toString(16)}${sig}\r\n`), c, Buffer.from('\r\n'));
  parts.push(Buffer.from(`0${sig}\r\n${trailer}\r\n`));
  return Buffer.concat(parts);
}

/** Feeds `wire` in pieces of `step` bytes (to cross every boundary) and collects the output. */
async function decode(wire: Buffer, step: number): Promise<{ out: Buffer; decoder: AwsChunkedDecoder }> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < wire.length; i += step) pieces.push(wire.subarray(i, i + step));
  const decoder = new AwsChunkedDecoder();
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), decoder, async function* (src) {
    for await (const c of src) out.push(c as Buffer);
  });
  return { out: Buffer.concat(out), decoder };
}

function crc32b64(data: Buffer): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(zlib.crc32(data) >>> 0);
  return b.toString('base64');
}

describe('AwsChunkedDecoder', () => {
  const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
  const chunks = [data.subarray(0, 65_536), data.subarray(65_536)];

  it.each([1, 7, 1000, 1 << 20])('decodes signed chunks fed %d bytes at a time', async (step) => {
    const { out } = await decode(frame(chunks, '', true), step);
    expect(out.equals(data)).toBe(true);
  });

  it('decodes an unsigned body with a CRC32 trailer and records the trailer', async () => {
    const { out, decoder } = await decode(frame(chunks, `x-amz-checksum-crc32:${crc32b64(data)}\r\n`), 4096);
    expect(out.equals(data)).toBe(true);
    expect(decoder.trailers['x-amz-checksum-crc32']).toBe(crc32b64(data));
  });

  it('fails on a wrong CRC32 trailer with BadDigest', async () => {
    await expect(decode(frame(chunks, 'x-amz-checksum-crc32:AAAAAA==\r\n'), 4096)).rejects.toMatchObject({ s3Code: 'BadDigest' });
  });

  it('fails on truncation and on garbage framing', async () => {
    const wire = frame(chunks);
    await expect(decode(wire.subarray(0, wire.length - 10), 999)).rejects.toMatchObject({ s3Code: 'IncompleteBody' });
    await expect(decode(Buffer.from('zz\r\nabc\r\n0\r\n\r\n'), 4)).rejects.toMatchObject({ s3Code: 'InvalidRequest' });
  });
});
