import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{protocol,broker,publisher,recorder,cli,viewer/src,e2e}/**/*.test.ts'],
    // Suites start real brokers, browsers and X servers: run files one by one on this 2-core machine.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Waits are bounded, but generous: these machines are shared and noisy.
    expect: { poll: { timeout: 5000, interval: 50 } },
    globalSetup: ['./test-support/global-setup.ts'],
    reporters: ['default', './test-support/count-reporter.ts'],
  },
});
