import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['app/**/*.test.ts', 'main/**/*.test.ts', 'renderer/src/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // onnxruntime uses both cores itself; parallel test files only fight over them.
    fileParallelism: false,
    reporters: ['default', './scripts/vitest-closing-line.ts'],
  },
});
