// The desktop app itself, through Playwright's Electron driver, when the Electron binary is
// installed (offline installs skip its download; see README). On Linux it needs a display:
// the runner provides one (xvfb-run).
import { existsSync } from 'node:fs';
import { _electron as electron, type ElectronApplication } from '@playwright/test';
import { bundled } from './env';
import { expect, linearsTable, test, watchForProblems } from './fixtures';

function electronBinary(): { path: string } | { missing: string } {
  try {
    const path = require('electron') as unknown as string;
    return existsSync(path) ? { path } : { missing: `${path} does not exist` };
  } catch (error) {
    return { missing: (error as Error).message };
  }
}

test('the Electron app opens the bundled model in the inspector', async ({}, testInfo) => {
  const binary = electronBinary();
  if ('missing' in binary) {
    const reason = `Electron binary not installed (offline box): ${binary.missing}`;
    console.log(`electron.spec: skipped: ${reason}`);
    test.skip(true, reason);
    return;
  }
  let app: ElectronApplication | undefined;
  try {
    // Chromium refuses to run as root with its sandbox on (CI containers often run as root).
    const args = process.getuid?.() === 0 ? ['.', '--no-sandbox'] : ['.'];
    app = await electron.launch({ executablePath: binary.path, args, timeout: 60_000 });
    const window = await app.firstWindow();
    const problems = watchForProblems(window);
    const { rows } = linearsTable(window);
    await expect(rows).toHaveCount(bundled.linearCount, { timeout: 45_000 });
    await expect(window.getByTestId('open-model')).toContainText(bundled.name);
    await expect(window.getByRole('button', { name: 'Browse…' })).toBeVisible();

    const path = testInfo.outputPath('electron.png');
    await window.screenshot({ path });
    await testInfo.attach('electron', { path, contentType: 'image/png' });
    expect(problems, 'the window reported errors').toEqual([]);
  } finally {
    await app?.close();
  }
});
