import { defineConfig } from 'vitest/config';

// Two tiers. `slow`: integration tests that open the bundled model, run onnxruntime sessions,
// start the engine worker, the CLI or the server, or spawn processes (seconds to minutes each).
// `fast`: everything else, pure unit tests (`npm run test:fast`, well under a minute).
// `npm run test:unit` (and so `npm test` and .ci/run) runs both.
const slow = [
  'app/cli/**/*.test.ts',
  'app/jobs/hard-cancel.test.ts',
  'app/server/**/*.test.ts',
  'app/jobs/host.test.ts',
  'app/engine/{validation,variant-runner,run-failure}.test.ts',
  'app/experiment/modules.test.ts',
  'app/experiment/stages/{compress,compensate,memory}.test.ts',
  'app/experiment/run.test.ts',
  'app/experiment/resume.test.ts',
  'app/export/{cli,gptq-import,merged,onnx,peft}.test.ts',
  'app/forward/**/*.test.ts',
  'app/generate/bundled.test.ts',
  'app/eval/cloze.test.ts',
  'app/eval/multiple-choice.test.ts',
  'app/calibrate/**/*.test.ts',
  'app/model/{gptq,hf,open,safetensors,validate}.test.ts',
  'app/tokenizer/**/*.test.ts',
  'app/onnx/onnx.test.ts',
  'app/compress/ort-*.test.ts',
  'app/compress/perf.test.ts',
  'app/compensate/ort-*.test.ts',
];

export default defineConfig({
  test: {
    environment: 'node',
    // Hang guards only: a test waits for events and states, never for the clock. Minutes, so a
    // busy machine (both cores taken by other work) slows tests down without failing them.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // expect.poll waits for a state; its default 1 s would be a wall-clock assertion.
    expect: { poll: { timeout: 300_000 } },
    // onnxruntime uses both cores itself; parallel test files only fight over them.
    fileParallelism: false,
    reporters: ['default', './scripts/vitest-closing-line.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'fast',
          include: ['app/**/*.test.ts', 'main/**/*.test.ts', 'renderer/src/**/*.test.ts'],
          exclude: slow,
        },
      },
      { extends: true, test: { name: 'slow', include: slow } },
    ],
  },
});
