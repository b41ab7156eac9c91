import { runDevstackCli } from './cli/index.js';

// Entrypoint: `node --import tsx packages/devstack/src/bin.ts --obs-port 0`.
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`devstack: unhandled rejection: ${String(reason)}\n`);
});
process.exitCode = await runDevstackCli(process.argv.slice(2));
