// Cancel leaves a resumable run; Resume finishes it.
import { existsSync } from 'node:fs';
import { expect, test } from './fixtures';

// The engine answers a cancelled call with HTTP 409, which Chromium logs as a failed resource.
test.use({ expectedConsoleErrors: [/status of 409/] });

test('cancel a running experiment, then resume it to done', async ({ app }, testInfo) => {
  test.setTimeout(600_000);
  await app.goto(`${app.url().split('#')[0]}#/new-run`);
  await app.getByLabel('Start from').selectOption('e2e-small');
  await app.getByLabel('Name', { exact: true }).fill('cancel and resume');
  // e2e-small compresses in half a second on a quiet machine, too fast to catch running: a larger
  // calibration set keeps the compress stage busy for seconds on any machine.
  await app.getByLabel('Samples').fill('384');
  await app.getByLabel('Tokens per sample').fill('256');
  await expect(app.getByText('the engine accepts this config')).toBeVisible();
  await app.getByRole('button', { name: 'Start the run' }).click();

  await expect(app.locator('[data-stage="compress"][data-status="running"]')).toBeVisible({ timeout: 30_000 });
  await app.getByRole('button', { name: 'Cancel' }).click();
  await expect(app.getByTestId('job-state')).toHaveText('cancelled');
  await expect(app.getByRole('log').or(app.getByRole('list', { name: 'Log' }))).toContainText('cancelled (resumable)');
  const path = testInfo.outputPath('cancelled.png');
  await app.screenshot({ path, fullPage: true });
  await testInfo.attach('cancelled', { path, contentType: 'image/png' });

  await app.getByRole('button', { name: 'Resume' }).click();
  await expect(app.getByTestId('job-state')).toHaveText('done', { timeout: 200_000 });
  await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Benchmarks', exact: true }).click();
  await expect(app.getByTestId('open-run')).toContainText('cancel-and-resume');
  await expect(app.getByRole('table', { name: 'Benchmark deltas' }).locator('tr[data-variant="eora-r8"]')).toHaveCount(1);

  // Runs lists it as done; Delete asks first, then removes the folder.
  await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Runs', exact: true }).click();
  const row = app.locator('tr', { hasText: 'cancel-and-resume' });
  await expect(row).toContainText('done');
  const runDir = await row.getAttribute('data-dir');
  expect(runDir && existsSync(runDir)).toBe(true);
  await row.getByRole('button', { name: 'Delete…' }).click();
  await expect(row.getByRole('alert')).toContainText('Delete');
  await row.getByRole('button', { name: 'Yes, delete' }).click();
  await expect(app.locator('tr', { hasText: 'cancel-and-resume' })).toHaveCount(0);
  expect(existsSync(runDir!)).toBe(false);
});
