import { defineConfig } from 'vitest/config';

/*
 * The vitest config `pnpm mutate` hands to Stryker: only the tests that guard the module being
 * mutated (scripts/mutate.mjs passes them in OBSQ_MUTATE_TESTS), in-process ones, so a mutant in
 * the worker's code is seen by the worker the test runs. Stryker runs them in threads.
 */
const tests = (process.env.OBSQ_MUTATE_TESTS ?? '').split(',').filter(Boolean);
if (tests.length === 0) throw new Error('OBSQ_MUTATE_TESTS is empty: run through `pnpm mutate`');

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: tests,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
