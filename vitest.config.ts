import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (file: string): string => fileURLToPath(new URL(`./src/${file}`, import.meta.url))

export default defineConfig({
  resolve: {
    // The package's own entry points resolve to the sources (as in tsconfig.json's paths), so tests and
    // examples import 'nn-ts' like a user; the consumer tests exercise the built package itself.
    alias: [
      { find: /^nn-ts$/, replacement: src('index.ts') },
      { find: /^nn-ts\/node$/, replacement: src('node/index.ts') },
      { find: /^nn-ts\/viz$/, replacement: src('viz/index.ts') },
      { find: /^nn-ts\/onnx$/, replacement: src('onnx/index.ts') }
    ]
  },
  test: {
    include: ['laws/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    // Property tests are CPU-bound; two workers match the two cores of the CI machine.
    maxWorkers: 2
  }
})
