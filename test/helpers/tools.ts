import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/*
 * External programs some tests need. Installing them is scripts/bootstrap.sh's job, never a
 * test's. Outside CI a test whose tool is missing is skipped (a developer may not have sox); under
 * CI (`CI=true`) it runs and fails at once with the command that installs the tool, so a CI machine
 * that lost a package cannot pass by skipping.
 */

/** The tools tests may need, with how to probe and install each. */
export const TOOLS = {
  sox: { probe: () => runs('sox', ['--version']), install: 'apt-get install -y sox' },
  pocketsphinx: {
    probe: () => existsSync(POCKETSPHINX_DATA) && runs('pocketsphinx_continuous', ['-h'], true),
    install: 'apt-get install -y pocketsphinx pocketsphinx-en-us pocketsphinx-testdata',
  },
  promtool: { probe: () => runs('promtool', ['--version']), install: 'apt-get install -y --no-install-recommends prometheus' },
  compose: { probe: () => composeCommand() !== undefined, install: 'apt-get install -y docker-compose' },
} as const;

/** pocketsphinx-testdata's 16 kHz recording of "go forward ten meters", which the speech tests use. */
export const POCKETSPHINX_DATA = '/usr/share/pocketsphinx/test/data/goforward.raw';

/** A tool name of {@link TOOLS}. */
export type ToolName = keyof typeof TOOLS;

/** True when the tests run under CI, where a skip is a failure. */
export const UNDER_CI = process.env.CI === 'true' || process.env.CI === '1';

function runs(cmd: string, args: string[], anyExit = false): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.error === undefined && (anyExit || r.status === 0);
}

/** `docker compose` (v2 plugin), else `docker-compose` (v1), else undefined. */
export function composeCommand(): string[] | undefined {
  if (runs('docker', ['compose', 'version'])) return ['docker', 'compose'];
  if (runs('docker-compose', ['version'])) return ['docker-compose'];
  return undefined;
}

/** A tool as tests see it. */
export interface Tool {
  /** Whether it is installed. */
  available: boolean;
  /** Pass to `it.skipIf` / `describe.skipIf`: true only when missing and not under CI. */
  skip: boolean;
  /** Throws, naming the install command, when the tool is missing (call first in the test or a `beforeAll`). */
  require(): void;
}

const cache = new Map<ToolName, Tool>();

/** Probes a tool once per test file. */
export function tool(name: ToolName): Tool {
  let t = cache.get(name);
  if (!t) {
    const available = TOOLS[name].probe();
    t = {
      available,
      skip: !available && !UNDER_CI,
      require: () => {
        if (!available) throw new Error(`${name} is missing: install it with \`${TOOLS[name].install}\` (scripts/bootstrap.sh does this)`);
      },
    };
    cache.set(name, t);
  }
  return t;
}
