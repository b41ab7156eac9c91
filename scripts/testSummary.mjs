// Prints the plain closing line CI reads ("tests: N passed, N failed, N skipped") from vitest's JSON
// report, and fails when no test ran at all, when a test failed, or, under CI (CI=true), when any
// test was skipped: a CI machine that lacks a tool must not pass by skipping what needs it.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const passed = report.numPassedTests ?? 0;
const failed = report.numFailedTests ?? 0;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
const underCi = process.env.CI === 'true' || process.env.CI === '1';
if (skipped > 0) {
  const names = (report.testResults ?? []).flatMap((file) =>
    (file.assertionResults ?? [])
      .filter((t) => t.status === 'pending' || t.status === 'skipped' || t.status === 'todo')
      .map((t) => `  ${file.name}: ${t.fullName ?? t.title}`),
  );
  console.log(`skipped tests${underCi ? ' (not allowed under CI: install what they need with scripts/bootstrap.sh)' : ''}:`);
  for (const n of names) console.log(n);
}
if (passed === 0 || failed > 0 || (underCi && skipped > 0)) process.exit(1);
