import { afterAll, expect } from 'vitest';

// Every test file must leave the process as it found it: no signal handlers added by code under
// test (only service entrypoints own signals, and they are not imported in-process).
const baseline = {
  sigterm: process.listenerCount('SIGTERM'),
  sigint: process.listenerCount('SIGINT'),
};

afterAll(() => {
  expect(process.listenerCount('SIGTERM'), 'SIGTERM listeners leaked').toBe(baseline.sigterm);
  expect(process.listenerCount('SIGINT'), 'SIGINT listeners leaked').toBe(baseline.sigint);
});
