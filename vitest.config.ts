import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['laws/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    // Property tests are CPU-bound; two workers match the two cores of the CI machine.
    maxWorkers: 2
  }
})
