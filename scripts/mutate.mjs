// `pnpm mutate [module...]`: mutation testing (StrykerJS) of the modules that guard data, one
// Stryker run per module with only the tests that guard it. Slow by nature, so not part of
// `pnpm test`. Reports: reports/mutation/<module>.html and .json; the scores go in docs/testing.md.
// Options: --concurrency N (default 1; the CI machine has 2 shared cores).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

/** What is mutated per module, and the in-process tests that must kill the mutants. */
export const MODULES = {
  uploadPart: {
    mutate: ['packages/worker/src/jobs/uploadPart.ts'],
    tests: ['test/issue14IntegrityChecks.test.ts'],
  },
  completeMultipart: {
    mutate: ['packages/worker/src/jobs/completeMultipart.ts'],
    tests: ['test/issue14IntegrityChecks.test.ts', 'test/issue14CopyChecks.test.ts', 'test/issue9WorkerFixes.test.ts'],
  },
  // The integrity part of complete-multipart alone (multipart ETag, Complete, the size and ETag
  // checks): the whole file takes longer than a run on the shared CI machine allows.
  completeMultipartChecks: {
    mutate: ['packages/worker/src/jobs/completeMultipart.ts:42-46', 'packages/worker/src/jobs/completeMultipart.ts:95-138'],
    tests: ['test/issue14IntegrityChecks.test.ts', 'test/issue14CopyChecks.test.ts'],
  },
  copyObject: {
    mutate: ['packages/worker/src/jobs/copyObject.ts'],
    tests: ['test/issue14CopyChecks.test.ts'],
  },
  retry: {
    mutate: ['packages/storage/src/retry.ts'],
    tests: ['packages/storage/src/retry.test.ts'],
  },
  signing: {
    mutate: ['packages/storage/src/signing/*.ts', '!packages/storage/src/signing/*.test.ts', '!packages/storage/src/signing/index.ts', '!packages/storage/src/signing/types.ts'],
    tests: ['packages/storage/src/signing/signing.test.ts', 'packages/storage/src/signing/signingEdges.test.ts'],
  },
  sourceSandbox: {
    mutate: ['packages/shared/src/validation/sourcePath.ts', 'packages/worker/src/sources/pinnedFile.ts', 'packages/worker/src/sources/fileSource.ts', 'packages/worker/src/sources/urlSource.ts'],
    tests: ['packages/worker/src/sources/sources.test.ts', 'packages/worker/src/sources/pinnedFile.test.ts'],
  },
  resultStore: {
    mutate: ['packages/shared/src/result/resultStore.ts'],
    tests: ['test/resultStore.test.ts'],
  },
};

const args = process.argv.slice(2);
let concurrency = '1';
const names = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--concurrency') concurrency = args[++i];
  else names.push(args[i]);
}
for (const n of names) if (!(n in MODULES)) throw new Error(`unknown module ${n}; known: ${Object.keys(MODULES).join(', ')}`);
const selected = names.length > 0 ? names : Object.keys(MODULES);

const scores = [];
let failed = false;
for (const name of selected) {
  const m = MODULES[name];
  console.log(`\n== mutate ${name}: ${m.mutate.join(' ')}`);
  const started = Date.now();
  const r = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs', '--mutate', m.mutate.join(','), '--concurrency', concurrency], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, OBSQ_MUTATE_MODULE: name, OBSQ_MUTATE_TESTS: m.tests.join(',') },
  });
  if (r.status !== 0) {
    failed = true;
    scores.push(`${name}: stryker failed (exit ${r.status})`);
    continue;
  }
  const report = JSON.parse(readFileSync(resolve(ROOT, `reports/mutation/${name}.json`), 'utf8'));
  const counts = {};
  for (const file of Object.values(report.files)) for (const mu of file.mutants) counts[mu.status] = (counts[mu.status] ?? 0) + 1;
  const killed = (counts.Killed ?? 0) + (counts.Timeout ?? 0);
  const valid = killed + (counts.Survived ?? 0) + (counts.NoCoverage ?? 0);
  const score = valid === 0 ? 100 : (100 * killed) / valid;
  scores.push(`${name}: ${score.toFixed(1)} % (${killed} killed or timed out of ${valid}; ${counts.Survived ?? 0} survived, ${counts.NoCoverage ?? 0} no coverage) in ${Math.round((Date.now() - started) / 1000)} s`);
}
console.log(`\n== mutation scores\n${scores.join('\n')}`);
process.exit(failed ? 1 : 0);
