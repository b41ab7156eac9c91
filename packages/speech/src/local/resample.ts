import { Transform, type TransformCallback } from 'node:stream';

/**
 * Doubles the sample rate of 16-bit LE mono PCM (8 kHz → 16 kHz) by linear interpolation.
 * Good enough for recognition: the 8 kHz source has nothing above 4 kHz to alias.
 */
export function upsamplePcm16x2(pcm: Buffer): Buffer {
  const up = new Upsample16x2();
  const a = up.process(pcm);
  const b = up.finish();
  return Buffer.concat([a, b]);
}

/** Streaming form of {@link upsamplePcm16x2}; carries an odd byte and the last sample across chunks. */
export class Upsample16x2 {
  private carry: Buffer = Buffer.alloc(0);
  private last: number | undefined;

  /** Converts a chunk; output lags input by one sample (emitted on the next chunk or {@link finish}). */
  process(chunk: Buffer): Buffer {
    const data = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const n = data.length >> 1;
    this.carry = Buffer.from(data.subarray(n * 2));
    if (n === 0) return Buffer.alloc(0);
    const out = Buffer.allocUnsafe(n * 4);
    let o = 0;
    for (let i = 0; i < n; i++) {
      const s = data.readInt16LE(i * 2);
      if (this.last !== undefined) {
        out.writeInt16LE(this.last, o);
        out.writeInt16LE((this.last + s) >> 1, o + 2);
        o += 4;
      }
      this.last = s;
    }
    return out.subarray(0, o);
  }

  /** Emits the final sample (held twice). */
  finish(): Buffer {
    if (this.last === undefined) return Buffer.alloc(0);
    const out = Buffer.allocUnsafe(4);
    out.writeInt16LE(this.last, 0);
    out.writeInt16LE(this.last, 2);
    this.last = undefined;
    return out;
  }

  /** A Node `Transform` stream doing the same. */
  static stream(): Transform {
    const up = new Upsample16x2();
    return new Transform({
      transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
        cb(null, up.process(chunk));
      },
      flush(cb: TransformCallback) {
        cb(null, up.finish());
      },
    });
  }
}
