import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ObsqError } from '@obsq/shared';

const run = promisify(execFile);

/**
 * Source of the warm engine driver (C, linked against libpocketsphinx): `packages/speech/native/`
 * when running from the sources, `dist/native/` (copied there by scripts/build.ts) when bundled, the
 * code then sitting in `dist/` or `dist/chunks/`.
 */
export const WARM_ENGINE_SOURCE =
  ['../../native/obsqSphinx.c', '../native/obsqSphinx.c', './native/obsqSphinx.c']
    .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
    .find((path) => existsSync(path)) ?? fileURLToPath(new URL('../../native/obsqSphinx.c', import.meta.url));

/** Debian packages needed to build the driver; named in every build error. */
export const WARM_ENGINE_BUILD_PACKAGES = 'gcc pkg-config libpocketsphinx-dev libsphinxbase-dev';

/**
 * Returns the path of the compiled warm engine driver, building it on first use. The binary is
 * cached in `cacheDir` under a name derived from the source and the compiler flags, so a changed
 * source or library is rebuilt and concurrent workers share one build (each writes its own temp
 * file and renames it into place).
 * @param cacheDir @defaultValue `<tmpdir>/obsq-engine-<uid>` (created 0700; refused when another user owns it)
 * @throws ObsqError `OBSQ_ENGINE` (permanent) when the compiler or the development headers are missing.
 */
export async function buildWarmEngineDriver(cacheDir: string = join(tmpdir(), `obsq-engine-${process.getuid?.() ?? 'user'}`)): Promise<string> {
  let flags: string[];
  try {
    const { stdout } = await run('pkg-config', ['--cflags', '--libs', 'pocketsphinx', 'sphinxbase']);
    flags = stdout.trim().split(/\s+/).filter(Boolean);
  } catch (err) {
    throw buildError('pkg-config found no pocketsphinx/sphinxbase development files', err);
  }
  const source = await readFile(WARM_ENGINE_SOURCE);
  const id = createHash('sha256').update(source).update('\0').update(flags.join(' ')).digest('hex').slice(0, 16);
  const target = join(cacheDir, `obsqSphinx-${id}`);
  if (await isExecutable(target)) return target;

  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  // A shared temp dir: only use a cache directory this user owns and nobody else can write to.
  const dir = await stat(cacheDir);
  const uid = process.getuid?.();
  if ((uid !== undefined && dir.uid !== uid) || (dir.mode & 0o022) !== 0) {
    throw buildError(`cache directory ${cacheDir} is not private to this user`);
  }
  const temp = `${target}.${process.pid}.tmp`;
  try {
    await run('cc', ['-O2', '-o', temp, WARM_ENGINE_SOURCE, ...flags]);
    await chmod(temp, 0o755);
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw buildError('compiling the warm engine driver failed', err);
  }
  return target;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    return ((await stat(path)).mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

function buildError(what: string, cause?: unknown): ObsqError {
  const detail = (cause as { stderr?: string } | undefined)?.stderr?.trim().split('\n').slice(-3).join(' | ');
  return new ObsqError('OBSQ_ENGINE', `${what}${detail ? `: ${detail}` : ''}; install \`apt-get install -y ${WARM_ENGINE_BUILD_PACKAGES}\``, {
    permanent: true,
    ...(cause === undefined ? {} : { cause }),
  });
}
