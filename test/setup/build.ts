import { buildObsq } from '../../scripts/build.js';

/*
 * Vitest global setup: compile the CLI, worker and devstack once per run, before any test file.
 * Tests spawn the compiled output (test/helpers/cli.ts), as production runs it, so a build that
 * breaks fails the tests; rebuilding here means they never run a stale bundle.
 */
export default async function setup(): Promise<void> {
  await buildObsq();
}
