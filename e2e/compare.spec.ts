// Compare runs on two fixture runs (e2e/fixture-run.ts) that differ in their compression's
// bits and in every non-original perplexity: the runs table sorts by perplexity, B − A equals
// the difference of the two metrics.json files with sqrt(SE_A² + SE_B²), the config diff
// names exactly the differing keys, and a chart has a bar series per run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, TestInfo } from '@playwright/test';
import { runsDir } from './env';
import { writeFixtureRun } from './fixture-run';
import { expect, test } from './fixtures';

async function shot(page: Page, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

test('compare two runs: sortable list, B − A with SE, config diff, charts', async ({ app }, testInfo) => {
  const a = writeFixtureRun(runsDir, 'compare-a-w3');
  const b = writeFixtureRun(runsDir, 'compare-b-w4', { nllShift: -0.05, bits: 4 });
  const metrics = (dir: string) => JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
  const [ma, mb] = [metrics(a), metrics(b)];
  await app.goto(`${app.url().split('#')[0]}#/compare`);
  const table = app.getByRole('table', { name: 'Runs to compare' });
  await expect(table.locator(`tr[data-dir="${a}"]`)).toContainText('fixture w3');

  // Sort by the compressed model's perplexity, ascending: b (better) above a.
  await table.getByRole('button', { name: /PPL compressed/ }).click();
  const order = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-dir')));
  expect(order.indexOf(b)).toBeLessThan(order.indexOf(a));
  await expect(table.locator(`tr[data-dir="${b}"] td[data-column="compressed"]`)).toHaveText(mb.variants.compressed.ppl.tinystories.ppl.toFixed(2));

  await table.getByLabel('Compare compare-a-w3').check();
  await table.getByLabel('Compare compare-b-w4').check();
  const deltas = app.getByRole('table', { name: 'Deltas compare-b-w4 − compare-a-w3' });
  const cell = deltas.locator('tr[data-variant="eora-r8"] td[data-metric="ppl:tinystories"]');
  const expected = mb.variants['eora-r8'].ppl.tinystories.ppl - ma.variants['eora-r8'].ppl.tinystories.ppl;
  expect(Number(await cell.getAttribute('data-delta'))).toBeCloseTo(expected, 10);
  await expect(cell).toContainText(`\u2212${Math.abs(expected).toFixed(2)} ± `);
  // Accuracies are equal in both runs: a zero difference, never starred.
  await expect(deltas.locator('tr[data-variant="eora-r8"] td[data-metric="acc:cloze"]')).toHaveAttribute('data-significant', 'false');

  const diff = app.getByRole('table', { name: 'Config differences' });
  const paths = await diff.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-path')));
  expect(paths).toEqual(['experiment.compress.bits', 'experiment.name', 'method']);
  await expect(app.getByRole('img', { name: 'perplexity (tinystories) by run' })).toHaveAttribute('data-series', '4,4');
  await shot(app, testInfo, 'compare-1440');
  await app.setViewportSize({ width: 1024, height: 700 });
  expect(await app.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1024);
  await shot(app, testInfo, 'compare-1024');
});

test('Runs shows two checked runs side by side: each metric grouped, one column per run', async ({ app }, testInfo) => {
  const a = writeFixtureRun(runsDir, 'side-a-w3');
  const b = writeFixtureRun(runsDir, 'side-b-w4', { nllShift: -0.05, bits: 4 });
  const ppl = (dir: string, variant: string) => JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')).variants[variant].ppl.tinystories.ppl as number;
  await app.goto(`${app.url().split('#')[0]}#/runs`);
  const list = app.getByRole('table', { name: 'Runs' });
  await list.getByLabel('Compare side-a-w3').check();
  await list.getByLabel('Compare side-b-w4').check();
  await app.getByRole('button', { name: 'Compare the two checked' }).click();
  const side = app.getByRole('table', { name: 'Comparison of side-a-w3 and side-b-w4' });
  await expect(side.locator('thead th[colspan="2"]').first()).toHaveText('perplexity (tinystories) ↓');
  await expect(side.locator('thead tr').nth(1).locator('th').nth(0)).toHaveText('side-a-w3');
  await expect(side.locator('thead tr').nth(1).locator('th').nth(1)).toHaveText('side-b-w4');
  for (const variant of ['compressed', 'eora-r8']) {
    const row = side.locator(`tr[data-variant="${variant}"]`);
    await expect(row.locator('td[data-column="ppl:tinystories:0"]')).toHaveText(ppl(a, variant).toFixed(2));
    await expect(row.locator('td[data-column="ppl:tinystories:1"]')).toHaveText(ppl(b, variant).toFixed(2));
  }
  await shot(app, testInfo, 'runs-side-by-side');
});
