import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';

/*
 * The production build: the `obsq` CLI (which also runs `obsq worker` and `obsq devstack`) and the
 * devstack's own entry point, bundled by esbuild into packages/cli/dist. The workspace packages
 * (@obsq/*) stay just-in-time TypeScript packages and are bundled in; every npm dependency stays
 * external and must be a `dependencies` entry of @obsq/cli, so `pnpm deploy --prod` of that one
 * package gives a runnable tree. Commands are loaded with `import()`, so each becomes its own chunk
 * and `obsq --help` or `obsq worker` loads only what it runs.
 */

const REPO = fileURLToPath(new URL('..', import.meta.url));
/** Output directory of {@link buildObsq}. */
export const DIST = join(REPO, 'packages/cli/dist');
/** The compiled `obsq` entry point. */
export const OBSQ_BIN = join(DIST, 'obsq.js');
/** The workspace's `obsq` bin: turns source maps on, then loads {@link OBSQ_BIN}. */
export const OBSQ_LAUNCHER = join(REPO, 'packages/cli/bin/obsq.js');
/** The compiled devstack entry point (same as `obsq devstack`, with the devstack bin's own exit handling). */
export const DEVSTACK_BIN = join(DIST, 'devstack.js');

const builtins = new Set(builtinModules);

/** Bare import → package name (`@scope/name/x` → `@scope/name`, `name/x` → `name`). */
const packageName = (spec: string): string => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

/** Bundles @obsq/* and relative imports; leaves npm packages and Node built-ins to `import` at run time. */
const externalNpm: Plugin = {
  name: 'external-npm',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@obsq/')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

/** The npm packages the bundle imports at run time, from esbuild's metafile. */
function externalPackages(meta: Metafile): string[] {
  const names = new Set<string>();
  for (const output of Object.values(meta.outputs)) {
    for (const imp of output.imports) {
      if (!imp.external || imp.path.startsWith('node:') || builtins.has(imp.path)) continue;
      names.add(packageName(imp.path));
    }
  }
  return [...names].sort();
}

/** What {@link buildObsq} produced. */
export interface BuildResult {
  /** Output files, relative to the repository root. */
  outputs: string[];
  /** npm packages the output imports at run time. */
  externals: string[];
}

/** Every file under `dir`, as absolute paths ([] when it does not exist). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/**
 * Builds packages/cli/dist from the sources. Fails when the bundle imports an npm package that is not
 * in @obsq/cli's `dependencies` (the production install would lack it).
 *
 * Only files whose bytes change are written, and files no longer produced are removed afterwards:
 * a rebuild of unchanged sources touches nothing, so a test run that rebuilds first never pulls a
 * chunk from under a worker process that another run started from the same tree.
 */
export async function buildObsq(): Promise<BuildResult> {
  const result = await build({
    absWorkingDir: REPO,
    entryPoints: { obsq: 'packages/cli/src/main.ts', devstack: 'packages/devstack/src/bin.ts' },
    outdir: DIST,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'chunks/[name]-[hash]',
    // Linked maps without the sources: stack traces name the .ts file and line (Node reads the map
    // with --enable-source-maps or process.setSourceMapsEnabled) and the maps stay small.
    sourcemap: 'linked',
    sourcesContent: false,
    // Class and function names show in logs (`err.type`) and stack traces.
    keepNames: true,
    metafile: true,
    write: false,
    logLevel: 'warning',
    plugins: [externalNpm],
    banner: { js: '// Built by scripts/build.ts from the TypeScript sources; do not edit.' },
  });
  const externals = externalPackages(result.metafile);
  const cliPkg = JSON.parse(await readFile(join(REPO, 'packages/cli/package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const missing = externals.filter((name) => !cliPkg.dependencies?.[name]);
  if (missing.length > 0) {
    throw new Error(`the bundle imports ${missing.join(', ')}: add them to the dependencies of packages/cli/package.json`);
  }
  // Files the bundle reads at run time, next to it: the warm engine driver's C source (built by the
  // worker on first start; see packages/speech/src/local/warmEngineDriver.ts).
  const assets = [{ path: join(DIST, 'native/obsqSphinx.c'), contents: await readFile(join(REPO, 'packages/speech/native/obsqSphinx.c')) }];
  const produced = new Set<string>();
  for (const file of [...result.outputFiles, ...assets]) {
    produced.add(file.path);
    const old = await readFile(file.path).catch(() => undefined);
    if (old?.equals(file.contents)) continue;
    await mkdir(dirname(file.path), { recursive: true });
    await writeFile(file.path, file.contents);
  }
  for (const stale of await filesUnder(DIST)) if (!produced.has(stale)) await rm(stale, { force: true });
  return { outputs: [...produced].map((p) => relative(REPO, p)).sort(), externals };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const started = performance.now();
  const { outputs, externals } = await buildObsq();
  const js = outputs.filter((o) => o.endsWith('.js')).length;
  process.stdout.write(
    `build: ${js} files in ${DIST.slice(REPO.length)} (${((performance.now() - started) / 1000).toFixed(2)} s); external: ${externals.join(', ')}\n`,
  );
}
