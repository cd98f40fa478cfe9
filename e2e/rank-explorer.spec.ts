// The rank explorer on the fixture run (e2e/fixture-run.ts, err(r) curves known in closed
// form): the Pareto chart's point counts and its exported numbers equal the spectra files, the
// module selection (MLP only) and a hand-set rank move the totals as computed here from the
// files, and the exported allocation and PEFT rank_pattern list exactly the chosen linears.
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, TestInfo } from '@playwright/test';
import { runsDir } from './env';
import { FIXTURE_LINEARS, FIXTURE_R_MAX, writeFixtureRun } from './fixture-run';
import { expect, test } from './fixtures';

async function shot(page: Page, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

async function download(app: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [file] = await Promise.all([app.waitForEvent('download'), click()]);
  return { name: file.suggestedFilename(), text: await readFile(await file.path(), 'utf8') };
}

test('Pareto chart, module selection, hand-set ranks and the exported allocation match the files', async ({ app }, testInfo) => {
  const dir = writeFixtureRun(runsDir, 'fixture-rank-explorer');
  const curve = (name: string, method: string): number[] => JSON.parse(readFileSync(join(dir, 'spectra', `${name}.json`), 'utf8')).methods[method].rel_output_error;
  const names = FIXTURE_LINEARS.map((l) => l.name);
  await app.reload();
  await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Runs', exact: true }).click();
  await app.getByRole('table', { name: 'Runs' }).locator(`tr[data-dir="${dir}"]`).getByRole('button', { name: 'Open' }).click();
  await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Rank explorer', exact: true }).click();

  // Pareto: uniform r = 0…8, the allocator at the same 9 sizes, plain SVD uniform, this allocation.
  const pareto = app.getByRole('img', { name: 'Predicted error against adapter parameters' });
  await expect(pareto).toHaveAttribute('data-series', `${FIXTURE_R_MAX + 1},${FIXTURE_R_MAX + 1},${FIXTURE_R_MAX + 1},1`);
  // Measured: svd-r8 and eora-r8 (one point each) and the compressed model at 0 parameters.
  await expect(app.getByRole('img', { name: 'Measured perplexity against adapter parameters' })).toHaveAttribute('data-series', '1,1,1');

  // Its numbers: uniform rank r costs r·Σ(in + out) and predicts Σ err(r), from the files.
  const csv = await download(app, () => pareto.locator('xpath=..').getByRole('button', { name: 'Export CSV' }).click());
  expect(csv.name).toContain('fixture-rank-explorer');
  const rows = csv.text.trim().split('\r\n').slice(1).map((l) => l.split(','));
  const perRank = FIXTURE_LINEARS.reduce((s, l) => s + l.in + l.out, 0);
  const uniformRows = rows.filter((r) => r[0] === 'uniform rank (eora)');
  expect(uniformRows).toHaveLength(FIXTURE_R_MAX + 1);
  uniformRows.forEach((r, rank) => {
    expect(Number(r[1])).toBe(rank * perRank);
    expect(Number(r[2])).toBeCloseTo(names.reduce((s, n) => s + curve(n, 'eora')[rank], 0), 12);
  });
  const svdRows = rows.filter((r) => r[0] === 'uniform rank (svd)');
  expect(Number(svdRows[3][2])).toBeCloseTo(names.reduce((s, n) => s + curve(n, 'svd')[3], 0), 12);
  rows.filter((r) => r[0] === 'budget-allocated (eora)').forEach((r, i) => expect(Number(r[2])).toBeLessThanOrEqual(Number(uniformRows[i][2]) + 1e-12));

  // MLP only: attention stays at rank 0 (its err(0) counts), the uniform total follows.
  await app.getByLabel('Uniform rank').fill('4');
  await app.getByLabel('Modules').selectOption('mlp');
  await expect(app.getByTestId('selected-count')).toHaveText('2 of 4 linears');
  const mlp = names.filter((n) => n.includes('.mlp.'));
  const expected = names.reduce((s, n) => s + curve(n, 'eora')[mlp.includes(n) ? 4 : 0], 0);
  expect(Number(await app.getByTestId('uniform-total').innerText())).toBeCloseTo(expected, 3);
  await expect(app.getByLabel(`Rank of ${names[0]}`)).toBeDisabled();

  // A hand-set rank: up_proj at 1; the allocated total is recomputed from the files.
  const up = 'model.layers.0.mlp.up_proj';
  await app.getByLabel(`Rank of ${up}`).fill('1');
  await app.getByLabel(`Rank of ${up}`).press('Enter');
  await expect(app.getByText('1 rank(s) set by hand')).toBeVisible();
  const downRank = Number(await app.getByLabel('Rank of model.layers.0.mlp.down_proj').inputValue());
  const allocatedTotal = curve(names[0], 'eora')[0] + curve(names[1], 'eora')[0] + curve(up, 'eora')[1] + curve('model.layers.0.mlp.down_proj', 'eora')[downRank];
  expect(Number(await app.getByTestId('allocated-total').innerText())).toBeCloseTo(allocatedTotal, 3);
  await shot(app, testInfo, 'rank-explorer-1440');

  // The allocation as JSON and as PEFT rank fields: only the MLP linears, with these ranks.
  const allocation = JSON.parse((await download(app, () => app.getByRole('button', { name: 'Export allocation (JSON)' }).click())).text);
  expect(allocation.ranks).toEqual({ [names[0]]: 0, [names[1]]: 0, [up]: 1, 'model.layers.0.mlp.down_proj': downRank });
  expect(allocation.parameters).toBe(1 * (172 + 64) + downRank * (64 + 172));
  expect(allocation.predicted_total_error).toBeCloseTo(allocatedTotal, 12);
  const peft = JSON.parse((await download(app, () => app.getByRole('button', { name: 'Export PEFT rank_pattern' }).click())).text);
  expect(peft.target_modules).toEqual(['up_proj', 'down_proj']);
  const ranksBack = Object.fromEntries(mlp.map((n) => [n, peft.rank_pattern[n] ?? peft.r]));
  expect(ranksBack).toEqual({ [up]: 1, 'model.layers.0.mlp.down_proj': downRank });

  await app.setViewportSize({ width: 1024, height: 700 });
  expect(await app.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1024);
  await shot(app, testInfo, 'rank-explorer-1024');
});
