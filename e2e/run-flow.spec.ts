// The whole experiment flow on the bundled model with resources/experiments/e2e-small.json:
// create a run in New run (inline validation first), watch it finish, then check Spectra,
// Per-layer error, the Rank explorer and Benchmarks against the files the engine wrote.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, TestInfo } from '@playwright/test';
import { bundled, runsDir } from './env';
import { expect, test } from './fixtures';

async function shot(page: Page, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

const spectrumOf = (dir: string, linear: string) => JSON.parse(readFileSync(join(dir, 'spectra', `${linear}.json`), 'utf8'));
const parseShown = (text: string) => Number(text.trim());

test('create a run, watch it finish, explore spectra, errors, ranks and benchmarks', async ({ app }, testInfo) => {
  test.setTimeout(240_000);
  await app.goto(`${app.url().split('#')[0]}#/new-run`);
  await app.getByLabel('Start from').selectOption('e2e-small');
  await expect(app.getByLabel('Ranks')).toHaveValue('8');

  // A bad rank is flagged inline with the engine's message, and Start is disabled.
  await app.getByLabel('Ranks').fill('8, x');
  await expect(app.locator('#issues-compensation-ranks')).toContainText('entry 2: expected a positive integer');
  await expect(app.getByRole('button', { name: 'Start the run' })).toBeDisabled();
  await shot(app, testInfo, 'new-run-invalid');
  await app.getByLabel('Ranks').fill('8');
  await expect(app.getByText('the engine accepts this config')).toBeVisible();

  await app.getByRole('button', { name: 'Start the run' }).click();
  await expect(app.getByRole('heading', { name: 'Progress' })).toBeVisible();
  // Every stage is listed from the start; each ends done with its duration.
  const stages = ['compress', 'compensate', 'evaluate', 'samples'];
  await expect(app.locator('[data-stage]')).toHaveCount(stages.length);
  await expect(app.locator('[data-stage="compress"]:not([data-status="pending"])')).toBeVisible({ timeout: 30_000 });
  await shot(app, testInfo, 'progress-running');
  await expect(app.getByTestId('job-state')).toHaveText('done', { timeout: 200_000 });
  for (const stage of stages) {
    await expect(app.locator(`[data-stage="${stage}"]`)).toHaveAttribute('data-status', 'done');
    await expect(app.locator(`[data-stage="${stage}"]`)).toContainText(/done in \d/);
  }
  await shot(app, testInfo, 'progress-done');

  const runDir = (await app.getByTestId('job-dir').innerText()).trim();
  const runName = runDir.split('/').pop()!;
  expect(readdirSync(runsDir)).toContain(runName);

  // Spectra: the eigenvalue chart has one point per eigenvalue the engine wrote.
  await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Spectra', exact: true }).click();
  await expect(app.getByTestId('open-run')).toContainText(runName);
  const first = 'model.layers.0.self_attn.q_proj';
  await expect(app.getByTestId('spectrum-layer')).toHaveText(first);
  const eigen = app.getByRole('img', { name: `Eigenvalues of C for ${first}` });
  const expectedPoints = spectrumOf(runDir, first).c_eigenvalues.length;
  expect(expectedPoints).toBeGreaterThan(10);
  await expect(eigen).toHaveAttribute('data-points', String(expectedPoints));
  await app.locator('body').press('ArrowRight');
  await expect(app.getByTestId('spectrum-layer')).toHaveText('model.layers.0.self_attn.k_proj');
  await shot(app, testInfo, 'spectra');

  // Per-layer error: one row per linear of the 2-layer model.
  await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Per-layer error', exact: true }).click();
  const table = app.getByRole('table', { name: 'Per-linear output error' });
  await expect(table.locator('tbody tr')).toHaveCount(bundled.linearCount);
  await expect(app.getByRole('table', { name: /Layers × modules/ }).locator('tbody tr')).toHaveCount(2);
  await shot(app, testInfo, 'layer-errors');

  // Rank explorer: the predicted total error is Σ err_l(r) over the EoRA curves, and it follows the slider.
  await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Rank explorer', exact: true }).click();
  const linears: string[] = JSON.parse(readFileSync(join(runDir, 'layers.json'), 'utf8')).map((l: { name: string }) => l.name);
  const predicted = (rank: number) => linears.reduce((sum, name) => sum + spectrumOf(runDir, name).methods.eora.rel_output_error[rank], 0);
  const slider = app.getByLabel('Uniform rank');
  await slider.fill('4');
  await expect(app.getByTestId('rank-value')).toHaveText('4');
  const at4 = parseShown(await app.getByTestId('uniform-total').innerText());
  expect(at4).toBeCloseTo(predicted(4), 3);
  await slider.fill('32');
  await expect(app.getByTestId('rank-value')).toHaveText('32');
  const at32 = parseShown(await app.getByTestId('uniform-total').innerText());
  expect(at32).toBeCloseTo(predicted(32), 3);
  expect(at32).toBeLessThan(at4);
  // Same size, allocated by the budget: never worse than uniform.
  expect(parseShown(await app.getByTestId('allocated-total').innerText())).toBeLessThanOrEqual(at32);
  await shot(app, testInfo, 'rank-explorer');

  // Materialize and measure the allocation at rank 8's size: a new variant appears in Benchmarks.
  await slider.fill('8');
  await app.getByRole('button', { name: 'Evaluate this allocation as a new variant' }).click();
  const added = app.getByText(/^Added/);
  await expect(added).toBeVisible({ timeout: 90_000 });
  const newVariant = (await added.locator('strong').first().innerText()).trim();
  expect(newVariant).toMatch(/^eora-/);
  await expect(app.getByTestId('measured-vs-predicted')).toContainText('measured perplexity');

  // Benchmarks: EoRA at rank 8 has a lower perplexity than the compressed model.
  await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Benchmarks', exact: true }).click();
  const deltas = app.getByRole('table', { name: 'Benchmark deltas' });
  const ppl = async (variant: string) => Number(await deltas.locator(`tr[data-variant="${variant}"] td[data-metric^="ppl:"]`).first().getAttribute('data-value'));
  await expect(deltas.locator('tr[data-variant="eora-r8"]')).toHaveCount(1);
  const eora = await ppl('eora-r8');
  const compressed = await ppl('compressed');
  expect(eora).toBeGreaterThan(1);
  expect(eora).toBeLessThan(compressed);
  // Perplexity deltas read in hundredths with a real minus sign, and "better" is said in words, not only in green.
  const eoraDelta = deltas.locator('tr[data-variant="eora-r8"] td[data-delta]').first();
  await expect(eoraDelta).toHaveText(/^\s*\u2212\d+\.\d{2}\b/);
  await expect(eoraDelta).toContainText('better than the compressed model');
  await expect(app.getByRole('table', { name: 'Generated samples' })).toBeVisible();
  await expect(deltas.locator(`tr[data-variant="${newVariant}"]`)).toHaveCount(1);
  expect(await ppl(newVariant)).toBeLessThan(compressed);
  await shot(app, testInfo, 'benchmarks');

  // Export EoRA r8 as a PEFT adapter into a fresh folder.
  const exportDir = testInfo.outputPath('export-peft');
  await app.getByLabel('Variant', { exact: true }).selectOption('eora-r8');
  await app.getByLabel('Format').selectOption('peft');
  await app.getByLabel('Folder').fill(exportDir);
  await app.getByRole('button', { name: 'Export', exact: true }).click();
  await expect(app.getByText(/files written to/)).toContainText(exportDir, { timeout: 60_000 });
  expect(readdirSync(exportDir)).toContain('export.json');

  // Runs: the run is listed as done.
  await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Runs', exact: true }).click();
  await expect(app.getByRole('table', { name: 'Runs' }).locator(`tr[data-dir="${runDir}"]`)).toContainText('done');
  await shot(app, testInfo, 'runs');
});
