import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration tests spawn redis-server, devstack and worker processes: give each file its own
    // process and keep two in flight on the 2-core CI machine.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    setupFiles: ['test/setup/leaks.ts'],
    // Compiles packages/cli/dist first: the tests spawn the compiled obsq, worker and devstack.
    globalSetup: ['test/setup/build.ts'],
  },
});
