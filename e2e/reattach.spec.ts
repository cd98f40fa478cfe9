// A reload does not lose a running experiment: the engine still has it (jobs.active), the
// reloaded page shows it in Progress with its stages and log, Runs links its 'running' row
// there, and Cancel from the reloaded page stops it with the run left resumable.
import { expect, test } from './fixtures';

// The engine answers a cancelled call with HTTP 409, which Chromium logs as a failed resource.
test.use({ expectedConsoleErrors: [/status of 409/] });

test('reload during a run, find it again in Progress, cancel it from the new page', async ({ app }, testInfo) => {
  test.setTimeout(90_000);
  await app.goto(`${app.url().split('#')[0]}#/new-run`);
  await app.getByLabel('Start from').selectOption('e2e-small');
  await app.getByLabel('Name', { exact: true }).fill('reattach after reload');
  // As in cancel-resume.spec: e2e-small's compress stage lasts about a second, shorter than
  // Playwright's polling can be sure to catch; a larger calibration set keeps it busy for seconds.
  await app.getByLabel('Samples').fill('384');
  await app.getByLabel('Tokens per sample').fill('256');
  await expect(app.getByText('the engine accepts this config')).toBeVisible();
  await app.getByRole('button', { name: 'Start the run' }).click();
  await expect(app.locator('[data-stage="compress"][data-status="running"]')).toBeVisible({ timeout: 30_000 });
  const runDir = (await app.getByTestId('job-dir').innerText()).trim();

  // A fresh page: nothing of the job is left in the tab, only in the engine.
  await app.goto(`${app.url().split('#')[0]}#/runs`);
  await app.reload();
  const row = app.getByRole('table', { name: 'Runs' }).locator(`tr[data-dir="${runDir}"]`);
  await expect(row).toContainText('running');
  await row.getByTestId('run-progress-link').click();

  await expect(app.getByRole('heading', { name: 'Progress' })).toBeVisible();
  await expect(app.getByTestId('job-state')).toHaveText('running');
  await expect(app.getByTestId('job-dir')).toHaveText(runDir);
  await expect(app.getByTestId('job-attached')).toBeVisible();
  await expect(app.locator('[data-stage]')).toHaveCount(4);
  await expect(app.locator('[data-stage="compress"]:not([data-status="pending"])')).toBeVisible();
  const log = app.getByRole('list', { name: 'Log' });
  await expect(log).toContainText('re-attached');
  await expect(log).toContainText('compress');
  const path = testInfo.outputPath('reattached.png');
  await app.screenshot({ path, fullPage: true });
  await testInfo.attach('reattached', { path, contentType: 'image/png' });

  await app.getByRole('button', { name: 'Cancel' }).click();
  await expect(app.getByTestId('job-state')).toHaveText('cancelled', { timeout: 20_000 });
  await expect(log).toContainText('cancelled (resumable)');
  await expect(app.getByRole('button', { name: 'Resume' })).toBeEnabled();

  // Runs: the run stopped, and can be resumed.
  await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Runs', exact: true }).click();
  await expect(row).toContainText('stopped');
  await expect(row.getByRole('button', { name: 'Resume' })).toBeVisible();
  await expect(row.getByTestId('run-progress-link')).toHaveCount(0);
});
