import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    // Bounds on a hung test only: a fresh machine running another suite beside this one takes
    // several times as long as a quiet one, and no test waits a fixed time (issue 22).
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
