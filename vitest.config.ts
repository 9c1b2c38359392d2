import { defineConfig } from 'vitest/config';

/**
 * Test files outside e2e/ that start real processes (the compiled mqlive, Mosquitto, Chromium, a stand-in hook
 * process): they run in the e2e tier with the rest, though they sit beside the code they test.
 */
const PROCESS_TESTS = ['broker/cli.test.ts', 'broker/interop.test.ts', 'broker/host-check.test.ts', 'broker/redis-stored.test.ts', 'publisher/sources/uiohook-source.test.ts'];

const shared = {
  // Every broker a test starts keeps nothing on disk unless the test gives it a data folder of its own
  // (e2e/durable-store.test.ts): brokers of other tests must not share the user's data folder, or its lock.
  env: { MQLIVE_DATA_DIR: 'none' },
  testTimeout: 30_000,
  hookTimeout: 60_000,
  // Waits are bounded, but generous: these machines are shared and noisy.
  expect: { poll: { timeout: 5000, interval: 50 } },
};

export default defineConfig({
  test: {
    reporters: ['default', './test-support/count-reporter.ts'],
    projects: [
      {
        // `npm run test:unit`: no process of its own beyond openssl for a test certificate; brokers run in the
        // test's process on real sockets. Files run two at a time (this machine has 2 cores). test-support/ holds
        // the tests of the helpers and of the documentation (its links), which start nothing.
        test: {
          ...shared,
          name: 'unit',
          // Worker threads start faster than forked processes: 55 s here for the tier, against 64 s forked.
          pool: 'threads',
          // Files share each worker's modules instead of importing Aedes, MQTT.js and the broker afresh for each
          // of 90 files: 46 s here for the tier, against 74 s isolated. Nothing here mocks a module, and the
          // broker's patches of its libraries are the ones a broker process makes once, idempotent and checked.
          isolate: false,
          include: ['{protocol,broker,publisher,recorder,cli,viewer/src,test-support,bench}/**/*.test.ts'],
          exclude: PROCESS_TESTS,
          sequence: { groupOrder: 0 },
        },
      },
      {
        // `npm run test:e2e`: real processes, browsers and X servers, one file at a time, after the unit tier.
        test: {
          ...shared,
          name: 'e2e',
          include: ['e2e/**/*.test.ts', ...PROCESS_TESTS],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          // These run the compiled `mqlive` command (dist/), as users do: built once, fresh, first.
          globalSetup: ['./test-support/global-setup.ts'],
        },
      },
    ],
  },
});
