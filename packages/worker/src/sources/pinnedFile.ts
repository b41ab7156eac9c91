import { constants } from 'node:fs';
import { lstat, open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import type { StreamFactory } from '@obsq/storage';
import { filePinDifferences, filePinOf, ObsqError, type FilePin, type FileSource, type SourceHardlinkPolicy } from '@obsq/shared';

/** Options of {@link openPinnedFile}. */
export interface OpenPinnedFileOptions {
  /**
   * `OBSQ_SOURCE_HARDLINKS`. A hard link inside a root can name a file that also lives outside every
   * root, and nothing about the link says which name came first, so the default refuses them.
   * @defaultValue `'refuse'`
   */
  hardlinks?: SourceHardlinkPolicy;
  /** Aborts the open (checked between steps). */
  signal?: AbortSignal;
}

/**
 * A source file opened once and verified through its descriptor. Every byte obsq reads from a file
 * source comes through {@link PinnedFile.readRange} (or {@link PinnedFile.procPath}, which names
 * the same open file), never by path again, so a path swapped after the check cannot redirect it.
 */
export interface PinnedFile extends AsyncDisposable {
  /** The path the kernel reports for the opened file (symlinks resolved), inside a root. */
  readonly realPath: string;
  /** The pin the file was opened against (from the payload). */
  readonly pin: FilePin;
  /** Size in bytes (equal to `pin.size`). */
  readonly size: number;
  /**
   * `/proc/<pid>/fd/<n>`: a name for this open file that child processes (sox) can open too. It
   * reopens the same inode, not the path the job named.
   */
  readonly procPath: string;
  /**
   * Checks the open file still matches the pin (size, mtime, inode, device).
   * @throws ObsqError `OBSQ_SOURCE_CHANGED` (permanent) naming what changed and `when`
   */
  verify(when: string): Promise<void>;
  /**
   * Reads `length` bytes at `offset` through the descriptor into one buffer, checking the pin
   * before and after, so the buffer is exactly the enqueued version's bytes. Hash and send this
   * buffer; never read the range again for sending.
   * @throws ObsqError `OBSQ_SOURCE_CHANGED` when the pin no longer matches or the file is short
   */
  readRange(offset: number, length: number, signal?: AbortSignal, onBytes?: (n: number) => void, into?: Buffer): Promise<Buffer>;
  /**
   * A replayable stream of `length` bytes at `offset`, read through the descriptor, for bodies too
   * large to hold in memory. It does not check the pin: call {@link PinnedFile.verify} after
   * sending.
   */
  rangeStream(offset: number, length: number): StreamFactory;
  /** Closes the descriptor. Idempotent; never throws. */
  close(): Promise<void>;
}

/** Bytes per `read()` call of {@link PinnedFile.readRange}; also how often the signal is checked. */
const READ_CHUNK = 1024 * 1024;

const forbidden = (message: string) => new ObsqError('OBSQ_SOURCE_FORBIDDEN', message, { permanent: true });
const changed = (message: string) => new ObsqError('OBSQ_SOURCE_CHANGED', message, { permanent: true });

/** True when `path` is `root` or below it (plain path arithmetic on already-real paths). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  // `..foo` is a legitimate name inside the root; only `..` itself or a `../` prefix leaves it.
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ObsqError('OBSQ_ABORTED', 'source read aborted', { cause: signal.reason });
}

/**
 * Opens a file source once and proves the opened file (not the path) is allowed:
 *
 * 1. `open()` with `O_NOCTTY | O_NONBLOCK` (a FIFO or device cannot block the worker) and `fstat`:
 *    a regular file only.
 * 2. The kernel's name of the open file (`readlink /proc/self/fd/N`) must lie inside one of the
 *    real paths of `roots`, and `lstat` of that name must be the same device and inode: a symlink
 *    or directory swapped in between open and check changes neither the descriptor nor this name.
 * 3. More than one hard link is refused unless `hardlinks` is `'allow'`.
 * 4. Size, mtime, inode and device must equal `source.pin`.
 *
 * The caller must `close()` it (or `await using`).
 * @throws ObsqError `OBSQ_SOURCE_FORBIDDEN` (outside the roots, not a regular file, hard links,
 * file sources disabled), `OBSQ_SOURCE` (cannot open), `OBSQ_SOURCE_CHANGED` (pin mismatch);
 * all permanent
 */
export async function openPinnedFile(roots: readonly string[], source: FileSource, options: OpenPinnedFileOptions = {}): Promise<PinnedFile> {
  const { signal } = options;
  const path = source.path;
  if (roots.length === 0) throw forbidden('source.path: file sources are disabled on this worker (set OBSQ_SOURCE_ROOTS)');
  if (!isAbsolute(path)) throw forbidden(`source.path: must be an absolute path (got ${JSON.stringify(path)})`);
  aborted(signal);
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? '';
    throw new ObsqError('OBSQ_SOURCE', `source.path: cannot open ${JSON.stringify(path)}: ${code || (cause as Error).message}`, { cause, permanent: true });
  }
  try {
    const st = await handle.stat({ bigint: true });
    if (!st.isFile()) throw forbidden(`source.path: ${JSON.stringify(path)} is not a regular file`);
    const realPath = await openedName(handle.fd, path);
    const realRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => undefined)));
    if (!realRoots.some((r) => r !== undefined && isInside(r, realPath))) {
      throw forbidden(`source.path: ${JSON.stringify(path)} resolves outside OBSQ_SOURCE_ROOTS (${roots.join(':')})`);
    }
    const named = await lstat(realPath, { bigint: true }).catch(() => undefined);
    if (!named || named.ino !== st.ino || named.dev !== st.dev) {
      throw forbidden(`source.path: ${JSON.stringify(path)} was moved or replaced while it was being opened; it cannot be verified`);
    }
    if (st.nlink > 1n && (options.hardlinks ?? 'refuse') === 'refuse') {
      throw forbidden(
        `source.path: ${JSON.stringify(path)} has ${st.nlink} hard links; a hard link may name a file outside OBSQ_SOURCE_ROOTS (set OBSQ_SOURCE_HARDLINKS=allow to accept)`,
      );
    }
    const pinned = new OpenPinned(handle, realPath, source.pin);
    pinned.check(filePinOf(st), 'when opened');
    aborted(signal);
    return pinned;
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

/** The kernel's current name of open descriptor `fd`. */
async function openedName(fd: number, path: string): Promise<string> {
  let name: string;
  try {
    name = await readlink(`/proc/self/fd/${fd}`);
  } catch (cause) {
    // Without /proc the opened file cannot be told apart from the path; refusing is the safe side.
    throw new ObsqError('OBSQ_SOURCE_FORBIDDEN', `source.path: cannot verify ${JSON.stringify(path)}: /proc/self/fd is not readable on this worker`, {
      cause,
      permanent: true,
    });
  }
  if (name.endsWith(' (deleted)')) throw changed(`source.path: ${JSON.stringify(path)} was deleted`);
  if (!isAbsolute(name)) throw forbidden(`source.path: ${JSON.stringify(path)} is not on a mounted file system`);
  return name;
}

class OpenPinned implements PinnedFile {
  readonly procPath: string;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly handle: FileHandle,
    readonly realPath: string,
    readonly pin: FilePin,
  ) {
    this.procPath = `/proc/${process.pid}/fd/${handle.fd}`;
  }

  get size(): number {
    return this.pin.size;
  }

  check(actual: FilePin, when: string): void {
    const diff = filePinDifferences(this.pin, actual);
    if (diff.length > 0) throw changed(`source.path: the file changed since enqueue (${when}: ${diff.join('; ')})`);
  }

  async verify(when: string): Promise<void> {
    this.check(filePinOf(await this.handle.stat({ bigint: true })), when);
  }

  async readRange(offset: number, length: number, signal?: AbortSignal, onBytes?: (n: number) => void, into?: Buffer): Promise<Buffer> {
    if (into !== undefined && into.length !== length) throw new RangeError(`readRange: into is ${into.length} bytes, the range ${length}`);
    if (offset + length > this.pin.size) {
      throw changed(`source.path: bytes ${offset}-${offset + length - 1} pass the end of the ${this.pin.size}-byte file pinned at enqueue`);
    }
    await this.verify(`before reading bytes ${offset}-${offset + length - 1}`);
    const buf = into ?? Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      aborted(signal);
      const { bytesRead } = await this.handle.read(buf, filled, Math.min(READ_CHUNK, length - filled), offset + filled);
      if (bytesRead === 0) throw changed(`source.path: file ended after ${offset + filled} bytes, before the part end ${offset + length}`);
      filled += bytesRead;
      onBytes?.(bytesRead);
    }
    await this.verify(`after reading bytes ${offset}-${offset + length - 1}`);
    return buf;
  }

  rangeStream(offset: number, length: number): StreamFactory {
    return { length, open: () => this.handle.createReadStream({ start: offset, end: offset + length - 1, autoClose: false, emitClose: false }) };
  }

  close(): Promise<void> {
    return (this.closing ??= this.handle.close().catch(() => undefined));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
