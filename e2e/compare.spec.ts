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
