// The significance rule on a run folder with known standard errors (e2e/fixture-run.ts): the
// paired two-sided 95 % test stars a 2.5-SE difference and not a 1-SE (or 1.4-SE) one, in both
// delta columns, symmetrically, and `eora show` draws the same stars.
import { execFileSync } from 'node:child_process';
import type { Page, TestInfo } from '@playwright/test';
import { runsDir } from './env';
import { expect, test } from './fixtures';
import { openInBenchmarks, writeFixtureRun } from './fixture-run';

async function shot(page: Page, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

test('stars by the paired 95 % test, in both delta columns, and the same in eora show', async ({ app }, testInfo) => {
  const dir = writeFixtureRun(runsDir, 'fixture-significance');
  await app.reload();
  await openInBenchmarks(app, dir);
  const deltas = app.getByRole('table', { name: 'Benchmark deltas' });
  // [Δ compressed, Δ original] cells of a variant for a metric.
  const cells = (variant: string, metric: string) => {
    const row = deltas.locator(`tr[data-variant="${variant}"]`);
    const value = row.locator(`td[data-metric="${metric}"]`);
    return { comp: value.locator('xpath=following-sibling::td[1]'), orig: value.locator('xpath=following-sibling::td[2]') };
  };
  const starred = (cell: ReturnType<typeof cells>['comp']) => cell.getAttribute('data-significant');

  // Tasks: compressed vs original, 6 of 100 items (2.51 SE): starred from both sides.
  expect(await starred(cells('compressed', 'acc:cloze').orig)).toBe('true');
  expect(await starred(cells('original', 'acc:cloze').comp)).toBe('true');
  await expect(cells('compressed', 'acc:cloze').orig).toContainText('*');
  // One item won back (1.00 SE) and two (1.42 SE): no star.
  expect(await starred(cells('eora-r8', 'acc:cloze').comp)).toBe('false');
  expect(await starred(cells('svd-r8', 'acc:cloze').comp)).toBe('false');
  await expect(cells('eora-r8', 'acc:cloze').comp).not.toContainText('*');
  // Perplexity: 1 SE of ΔNLL no star, 2.5 SE a star, 10 SE a star in the Δ-original column.
  expect(await starred(cells('eora-r8', 'ppl:tinystories').comp)).toBe('false');
  expect(await starred(cells('svd-r8', 'ppl:tinystories').comp)).toBe('true');
  expect(await starred(cells('compressed', 'ppl:tinystories').orig)).toBe('true');
  expect(await starred(cells('original', 'ppl:tinystories').comp)).toBe('true');
  // The legend states the test, "paired" and n.
  const legend = app.getByTestId('significance-legend');
  await expect(legend).toContainText('paired two-sided test at 95 %');
  await expect(legend).toContainText('100 items (cloze)');
  await expect(legend).toContainText('10 windows (perplexity tinystories)');
  await shot(app, testInfo, 'significance-1440');
  await app.setViewportSize({ width: 1024, height: 700 });
  await shot(app, testInfo, 'significance-1024');

  // eora show: the same verdicts in its text table.
  const text = execFileSync(process.execPath, ['bin/eora.mjs', 'show', dir], { encoding: 'utf8' });
  const line = (variant: string, header: string) => text.slice(text.indexOf(header)).split('\n').find((l) => l.startsWith(variant + ' '))!;
  expect(line('eora-r8', 'perplexity')).toMatch(/\+\d+\.\d\d\*\s+−\d+\.\d\d\s*$/); // Δ comp, no star
  expect(line('svd-r8', 'perplexity')).toMatch(/−\d+\.\d\d\*\s*$/);
  expect(line('compressed', 'cloze')).toMatch(/−0\.060\*/);
  expect(line('original', 'cloze')).toMatch(/\+0\.060\*/);
  expect(line('eora-r8', 'cloze')).toMatch(/\+0\.010\s/);
  expect(text).toContain('paired two-sided test at 95 %');
});
