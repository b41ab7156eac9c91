import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { ObsqError } from '@obsq/shared';

/** Where to find PocketSphinx. Defaults fit Debian's `pocketsphinx` 0.8+5prealpha packages. */
export interface PocketsphinxOptions {
  /**
   * The `pocketsphinx_continuous` executable: a name looked up on `PATH`, or a path.
   * @defaultValue "pocketsphinx_continuous"
   */
  binary?: string;
  /**
   * Acoustic model directory (`-hmm`). Unset: the binary's built-in default, which on Debian is
   * the `pocketsphinx-en-us` model.
   */
  hmm?: string;
  /** Language model (`-lm`). Unset: the binary's built-in default. */
  lm?: string;
  /** Pronunciation dictionary (`-dict`). Unset: the binary's built-in default. */
  dict?: string;
}

/** Debian's default en-us acoustic model, checked when `hmm` is not given. */
export const DEBIAN_EN_US_HMM = '/usr/share/pocketsphinx/model/en-us/en-us';
/** Debian packages that provide the engine; named in every "engine missing" error. */
export const POCKETSPHINX_PACKAGES = 'pocketsphinx pocketsphinx-en-us';

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of the engine binary, or `undefined` when it is not installed. */
export async function findPocketsphinx(options: PocketsphinxOptions = {}): Promise<string | undefined> {
  const binary = options.binary ?? 'pocketsphinx_continuous';
  if (binary.includes('/')) return (await isExecutable(binary)) ? binary : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, binary);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Error thrown when the engine or its model is missing. Permanent: retrying will not install it. */
export function engineMissingError(what: string, cause?: unknown): ObsqError {
  return new ObsqError(
    'OBSQ_ENGINE',
    `${what}: install the Debian packages with \`apt-get install -y ${POCKETSPHINX_PACKAGES}\``,
    { permanent: true, ...(cause === undefined ? {} : { cause }) },
  );
}

/** Throws {@link engineMissingError} unless the binary and its acoustic model are present; returns the binary path. */
export async function assertEngineAvailable(options: PocketsphinxOptions = {}): Promise<string> {
  const bin = await findPocketsphinx(options);
  if (!bin) throw engineMissingError(`PocketSphinx (${options.binary ?? 'pocketsphinx_continuous'}) not found`);
  const hmm = options.hmm ?? DEBIAN_EN_US_HMM;
  try {
    await access(join(hmm, 'mdef'), constants.R_OK);
  } catch (err) {
    throw engineMissingError(`PocketSphinx acoustic model not found in ${hmm}`, err);
  }
  return bin;
}

/** True when {@link transcribePcm} can run here (binary on PATH and model installed). */
export async function engineAvailable(options: PocketsphinxOptions = {}): Promise<boolean> {
  try {
    await assertEngineAvailable(options);
    return true;
  } catch {
    return false;
  }
}

/** Command-line arguments for decoding raw 16 kHz s16le PCM from stdin with word times. */
export function pocketsphinxArgs(options: PocketsphinxOptions = {}): string[] {
  const args = ['-infile', '/dev/stdin', '-samprate', '16000', '-time', 'yes'];
  if (options.hmm) args.push('-hmm', options.hmm);
  if (options.lm) args.push('-lm', options.lm);
  if (options.dict) args.push('-dict', options.dict);
  return args;
}
