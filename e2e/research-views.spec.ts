// The views a researcher reads results in, against a real run of the bundled model made by the
// engine's CLI (resources/experiments/e2e-small.json): New run's messages at their fields,
// Per-layer error's rank validation and fixed colour scale, Spectra's error-vs-rank curves equal
// to the files, the URL returning to the same view after a reload, and a failed run's error
// surviving a reload. Screenshots at 1440×900 and 1024×700.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page, TestInfo } from '@playwright/test';
import { runsDir } from './env';
import { expect, test } from './fixtures';

const sizes = [
  { width: 1440, height: 900 },
  { width: 1024, height: 700 },
];

async function shots(page: Page, testInfo: TestInfo, name: string) {
  for (const size of sizes) {
    await page.setViewportSize(size);
    const path = testInfo.outputPath(`${name}-${size.width}.png`);
    await page.screenshot({ path, fullPage: true });
    await testInfo.attach(`${name}-${size.width}`, { path, contentType: 'image/png' });
  }
  await page.setViewportSize(sizes[0]);
}

const runDir = join(runsDir, 'ui-views-e2e-small');
const spectrumOf = (linear: string) => JSON.parse(readFileSync(join(runDir, 'spectra', `${linear}.json`), 'utf8'));
const linears = () => (JSON.parse(readFileSync(join(runDir, 'layers.json'), 'utf8')) as { name: string }[]).map((l) => l.name);
const home = (page: Page) => page.url().split('#')[0];

test.beforeAll(() => {
  test.setTimeout(300_000);
  // The real engine, as a researcher would run it from a terminal (about 20 s here).
  execFileSync(process.execPath, ['bin/eora.mjs', 'run', 'resources/experiments/e2e-small.json', '--out', runDir, '--quiet'], { stdio: 'pipe', timeout: 240_000 });
});

test('New run shows each engine message under its field, in the form’s words, and marks the field', async ({ app }, testInfo) => {
  await app.goto(`${home(app)}#/new-run`);
  await app.getByLabel('Start from').selectOption('e2e-small');
  await expect(app.getByText('the engine accepts this config')).toBeVisible();

  await app.getByLabel('Pruning').fill('wanda:7');
  await expect(app.locator('#issues-compression-prune')).toHaveText('sparsity must be in [0, 1), got 7');
  await expect(app.getByLabel('Pruning')).toHaveAttribute('aria-invalid', 'true');
  await expect(app.locator('#issues-compression-quant')).toBeEmpty();
  await expect(app.getByLabel('Quantization')).toHaveAttribute('aria-invalid', 'false');

  await app.getByLabel('Tokens per sample').fill('-1');
  await expect(app.locator('#issues-calibration-seq-len')).toHaveText('expected a positive integer, got -1');
  await expect(app.getByLabel('Tokens per sample')).toHaveAttribute('aria-invalid', 'true');
  await app.getByLabel('Ranks').fill('8, 0');
  await expect(app.locator('#issues-compensation-ranks')).toHaveText('entry 2: expected a positive integer, got 0');
  await expect(app.getByRole('button', { name: 'Start the run' })).toBeDisabled();
  // No config paths or CLI flags in what the form says.
  const said = await app.locator('.field-issues').allInnerTexts();
  expect(said.join('\n')).not.toMatch(/--[a-z]|compression\.|calibration\.|compensation\.|evaluation\./);
  await shots(app, testInfo, 'new-run-messages');

  await app.getByLabel('Pruning').fill('none');
  await app.getByLabel('Tokens per sample').fill('64');
  await app.getByLabel('Ranks').fill('8');
  await expect(app.locator('#issues-compression-prune')).toBeEmpty();
  await expect(app.getByLabel('Pruning')).toHaveAttribute('aria-invalid', 'false');
  // (The engine checks paths once the rest of the config is well-formed.)
  await app.getByLabel('Model').fill('/nowhere/model');
  await expect(app.locator('#issues-model')).toHaveText('/nowhere/model does not exist');
  await expect(app.getByLabel('Model')).toHaveAttribute('aria-invalid', 'true');
});

test('Per-layer error refuses ranks outside 1…r_max and keeps one colour scale with a legend', async ({ app }, testInfo) => {
  await app.goto(`${home(app)}#/layer-errors?run=${encodeURIComponent(runDir)}`);
  const rank = app.getByLabel('Rank', { exact: true });
  const table = app.getByRole('table', { name: 'Per-linear output error' });
  await expect(table.locator('tbody tr')).toHaveCount(linears().length);
  const rMax = spectrumOf(linears()[0]).r_max;
  for (const [typed, message] of [
    ['-3', `Rank must be from 1 to ${rMax} (this run's largest rank, r_max), not -3.`],
    ['0', `not 0.`],
    ['1000', `not 1000.`],
    ['', `Enter a rank from 1 to ${rMax}.`],
    ['2.5', `whole number`],
  ]) {
    await rank.fill(typed);
    await expect(app.locator('#error-rank-message')).toContainText(message);
    await expect(rank).toHaveAttribute('aria-invalid', 'true');
    await expect(table.locator('thead')).not.toContainText(/r-3|r0\b|r1000|r2\.5/);
  }
  await shots(app, testInfo, 'layer-errors-bad-rank');
  await rank.fill('8');
  await expect(rank).toHaveAttribute('aria-invalid', 'false');
  await expect(table.locator('thead')).toContainText('+eora r8');

  // The table's numbers are the files' err(8); the colour scale spans every selection's values.
  const names = linears();
  const values = names.flatMap((name) => {
    const s = spectrumOf(name);
    return [s.methods.eora.rel_output_error[0], s.methods.eora.rel_output_error[8], s.methods.svd.rel_output_error[8]];
  });
  const legend = app.getByRole('figure', { name: 'Colour scale' });
  const lo = Number(await legend.getAttribute('data-lo'));
  const hi = Number(await legend.getAttribute('data-hi'));
  expect(lo).toBeCloseTo(Math.min(...values), 12);
  expect(hi).toBeCloseTo(Math.max(...values), 12);
  const cell = app.getByRole('table', { name: /Layers × modules/ }).locator('tbody tr').first().locator('td').first();
  const compressedShade = await cell.evaluate((td) => getComputedStyle(td).backgroundColor);
  await app.getByLabel('Heatmap shows').selectOption('eora');
  await expect(legend).toHaveAttribute('data-lo', String(lo));
  await expect(legend).toHaveAttribute('data-hi', String(hi));
  // Same scale, smaller error: a lighter cell.
  const alpha = (css: string) => Number(/rgba\([^)]*,\s*([\d.]+)\)/.exec(css)?.[1] ?? 1);
  await expect.poll(async () => alpha(await cell.evaluate((td) => getComputedStyle(td).backgroundColor))).toBeLessThan(alpha(compressedShade));
  await shots(app, testInfo, 'layer-errors-eora');
});

test('Spectra plots output error vs rank from the files, per linear and summed, and a reload returns there', async ({ app }, testInfo) => {
  const linear = 'model.layers.0.mlp.down_proj';
  await app.goto(`${home(app)}#/spectra?run=${encodeURIComponent(runDir)}&linear=${linear}`);
  await expect(app.getByTestId('spectrum-layer')).toHaveText(linear);
  const spectrum = spectrumOf(linear);
  const perLinear = app.getByRole('img', { name: `Output error vs rank for ${linear}` });
  await expect(perLinear).toHaveAttribute('data-points', String(spectrum.methods.eora.rel_output_error.length));
  expect(spectrum.methods.eora.rel_output_error.length).toBe(spectrum.r_max + 1);
  const summed = app.getByRole('img', { name: 'Summed output error vs rank' });
  const shortest = Math.min(...linears().map((name) => spectrumOf(name).methods.eora.rel_output_error.length));
  await expect(summed).toHaveAttribute('data-points', String(shortest));
  // The evaluated rank (8, both methods) is marked; down_proj's C is cut to its top r_max eigenvalues, and it says so.
  await expect(app.locator('[data-error-vs-rank]').first()).toHaveAttribute('data-marked', JSON.stringify({ svd: [8], eora: [8] }));
  await expect(app.getByTestId('eigen-truncated')).toHaveText(`The top ${spectrum.c_eigenvalues.length} of ${spectrum.in} eigenvalues (the run keeps r_max = ${spectrum.r_max}); tr(C) is over all ${spectrum.in}.`);
  await expect(app.locator('main')).not.toContainText('_{');
  await expect(app).toHaveTitle(/^Spectra · ui-views-e2e-small — EoRA Workbench/);
  await shots(app, testInfo, 'spectra-error-vs-rank');

  // Step to another linear, reload: the same view, run and linear.
  await app.locator('body').press('ArrowRight');
  const next = linears()[linears().indexOf(linear) + 1] ?? linears()[0];
  await expect(app.getByTestId('spectrum-layer')).not.toHaveText(linear);
  const shown = (await app.getByTestId('spectrum-layer').innerText()).trim();
  expect(app.url()).toContain(`linear=${shown}`);
  await app.reload();
  await expect(app.getByRole('heading', { name: /^Spectra/ })).toBeVisible();
  await expect(app.getByTestId('open-run')).toContainText('ui-views-e2e-small');
  await expect(app.getByTestId('spectrum-layer')).toHaveText(shown);
  expect(next.length).toBeGreaterThan(0);
  // The nav keeps the run: Per-layer error opens on it, and so does a reload there.
  await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Per-layer error', exact: true }).click();
  await app.reload();
  await expect(app.getByRole('table', { name: 'Per-linear output error' }).locator('tbody tr')).toHaveCount(linears().length);
  await expect(app).toHaveTitle(/^Per-layer error · ui-views-e2e-small/);
});

test('Try the model runs the open run’s variants side by side with the original, as the samples stage did', async ({ app }, testInfo) => {
  test.setTimeout(120_000);
  const samples = JSON.parse(readFileSync(join(runDir, 'samples.json'), 'utf8')) as { max_new_tokens: number; variants: Record<string, { prompt: string; text: string }[]> };
  await app.goto(`${home(app)}#/inspector?run=${encodeURIComponent(runDir)}`);
  const panel = app.getByRole('region', { name: 'Try the model' });
  await expect(panel.getByRole('group', { name: /Also with the variants of run ui-views-e2e-small/ })).toBeVisible();
  await panel.getByLabel('eora-r8').check();
  await panel.getByLabel('Prompt').fill(samples.variants.original[0].prompt);
  await panel.getByLabel('Max new tokens').fill(String(samples.max_new_tokens));
  await panel.getByRole('button', { name: 'Generate' }).click();
  const column = (name: string) => panel.locator(`figure[data-variant="${name}"] .continuation`);
  await expect(column('eora-r8')).toBeVisible({ timeout: 90_000 });
  for (const name of ['original', 'compressed', 'eora-r8']) await expect(column(name)).toHaveText(samples.variants[name][0].text);
  await shots(app, testInfo, 'try-variants');
});

test('New run uses the model the header shows (opened in the Inspector)', async ({ app }) => {
  const other = join(process.cwd(), 'resources/models/stories260k/stories260K.bin');
  await app.getByLabel('Model path').fill(other);
  await app.getByRole('button', { name: 'Open', exact: true }).click();
  await expect(app.getByTestId('open-model')).toContainText('stories260K.bin');
  await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'New run', exact: true }).click();
  await app.getByLabel('Start from').selectOption('e2e-small');
  await expect(app.getByLabel('Model')).toHaveValue(other);
  // Back to the bundled model: the form follows, leaving the field to its bundled default.
  await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Inspector', exact: true }).click();
  await app.getByRole('button', { name: 'Bundled model' }).click();
  await expect(app.getByTestId('open-model')).toContainText('tinystories-656k');
  await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'New run', exact: true }).click();
  await expect(app.getByLabel('Model')).toHaveValue('');
});

test.describe('failed runs', () => {
// Opening a run that failed before run.json is answered with an error (HTTP 500), which Chromium logs.
test.use({ expectedConsoleErrors: [/status of 500/] });

test('a run that fails keeps its real error in Runs after a reload, with no Resume', async ({ app }, testInfo) => {
  test.setTimeout(120_000);
  const tiny = join(mkdtempSync(join(tmpdir(), 'eora-tiny-')), 'tiny.txt');
  writeFileSync(tiny, 'hi there\n'); // fewer tokens than one calibration window
  await app.goto(`${home(app)}#/new-run`);
  await app.getByLabel('Start from').selectOption('e2e-small');
  await app.getByLabel('Name', { exact: true }).fill('fails on a tiny text');
  await app.getByLabel('Text file').fill(tiny);
  await expect(app.getByText('the engine accepts this config')).toBeVisible();
  await app.getByRole('button', { name: 'Start the run' }).click();
  await expect(app.getByTestId('job-state')).toHaveText('failed', { timeout: 60_000 });
  const runDirFailed = (await app.getByTestId('job-dir').innerText()).trim();
  await expect(app.getByRole('alert').filter({ hasText: 'fewer than one window' })).toBeVisible();

  await app.goto(`${home(app)}#/runs`);
  await app.reload();
  const row = app.getByRole('table', { name: 'Runs' }).locator(`tr[data-dir="${runDirFailed}"]`);
  await expect(row).toContainText('failed');
  await expect(row.getByTestId('run-error')).toContainText('fewer than one window');
  await expect(row.getByRole('button', { name: 'Resume' })).toHaveCount(0);
  await row.getByRole('button', { name: 'Open' }).click();
  await expect(app.getByText(/Could not open the run: .*failed before it wrote run.json: .*fewer than one window/)).toBeVisible();
  await expect(app.locator('main')).not.toContainText('not a run folder');
  await shots(app, testInfo, 'runs-failed');
});
});
