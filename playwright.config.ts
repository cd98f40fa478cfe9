// End-to-end tests: the built renderer served by the real headless engine (`eora serve`),
// driven in Debian's Chromium. `npm run build` must have run (out/app and out/renderer).
// e2e/electron.spec.ts drives the Electron app itself when its binary is installed.
import { defineConfig } from '@playwright/test';
import { baseURL, port, runsDir, token } from './e2e/env';

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results/',
  globalSetup: './e2e/global-setup.ts',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  // One engine serves every test; on a 2-core box one worker keeps the timings honest.
  workers: 1,
  forbidOnly: !!process.env.CI,
  reporter: [['list'], ['./e2e/closing-line-reporter.ts']],
  use: {
    baseURL,
    viewport: { width: 1440, height: 900 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [{ name: 'web', use: { browserName: 'chromium' } }],
  webServer: {
    command: `node bin/eora.mjs serve --port ${port} --token ${token}`,
    // Any answer counts as up (without the token it is a 401).
    url: `${baseURL}/`,
    reuseExistingServer: false,
    env: { EORA_RUNS_DIR: runsDir },
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
