#!/usr/bin/env node
// The `obsq` command: runs the compiled CLI (packages/cli/dist, made by `pnpm build`).
// Source maps are switched on before the bundle loads, so stack traces name .ts files and lines.
process.setSourceMapsEnabled(true);
const entry = new URL('../dist/obsq.js', import.meta.url);
try {
  await import(entry.href);
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(entry.pathname)) {
    process.stderr.write(`obsq: ${entry.pathname} is missing: run \`pnpm build\` first (or \`pnpm obsq:dev\` to run the sources)\n`);
    process.exit(1);
  }
  throw err;
}
