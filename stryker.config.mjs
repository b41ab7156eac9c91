// StrykerJS configuration for `pnpm mutate` (scripts/mutate.mjs runs it once per module, with the
// module's files as --mutate and its tests in OBSQ_MUTATE_TESTS). Not part of `pnpm test`.
const module = process.env.OBSQ_MUTATE_MODULE ?? 'all';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'stryker/vitest.mutate.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  // In place: the workspace packages resolve each other through pnpm's symlinks, which a sandbox
  // copy would bypass (tests would import the unmutated originals). Stryker restores the files.
  inPlace: true,
  // Vitest strips types without checking them, so Stryker need not add @ts-nocheck: in place it
  // would otherwise touch (and later restore) every source file of the repository.
  disableTypeChecks: false,
  coverageAnalysis: 'perTest',
  concurrency: 1,
  timeoutMS: 30_000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${module}.html` },
  jsonReporter: { fileName: `reports/mutation/${module}.json` },
  // One temp dir per module, so two runs on modules whose tests share no code can go side by side.
  tempDirName: `.stryker-tmp/${module}`,
  cleanTempDir: true,
  thresholds: { high: 90, low: 80, break: null },
};
