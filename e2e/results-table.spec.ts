// The paper-ready results table on the fixture run (e2e/fixture-run.ts): what Copy Markdown,
// Copy LaTeX and Copy CSV put on the clipboard equals metrics.json's numbers, and the table
// fits a 1024-px window with its variant column in view.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, TestInfo } from '@playwright/test';
import { runsDir } from './env';
import { FIXTURE_LINEARS, openInBenchmarks, writeFixtureRun } from './fixture-run';
import { expect, test } from './fixtures';

test.use({ permissions: ['clipboard-read', 'clipboard-write'] });

async function shot(page: Page, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

async function copied(app: Page, button: string): Promise<string> {
  await app.getByRole('button', { name: button }).click();
  await expect(app.getByTestId('copy-status')).toContainText(`Copied as ${button.replace('Copy ', '')}`);
  return app.evaluate(() => navigator.clipboard.readText());
}

/** Cluster standard error of a perplexity from its windows, computed here independently. */
function pplStderr(ppl: number, w: { tokens: number[]; nll: number[] }): number {
  const N = w.tokens.reduce((a, b) => a + b, 0);
  const mean = w.tokens.reduce((s, t, i) => s + t * w.nll[i], 0) / N;
  const squares = w.tokens.reduce((s, t, i) => s + (t * (w.nll[i] - mean)) ** 2, 0);
  return (ppl * Math.sqrt((w.nll.length / (w.nll.length - 1)) * squares)) / N;
}

test('the results table copies as Markdown, LaTeX and CSV with metrics.json’s numbers', async ({ app }, testInfo) => {
  const dir = writeFixtureRun(runsDir, 'fixture-results-table');
  const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
  const names = Object.keys(metrics.variants);
  await app.reload();
  await openInBenchmarks(app, dir);
  const table = app.getByRole('table', { name: 'Results table' });
  await expect(table.locator('tbody tr')).toHaveCount(names.length);

  const csv = (await copied(app, 'Copy CSV')).trim().split('\r\n').map((l) => l.split(','));
  const [head, ...rows] = csv;
  const at = (row: string[], column: string) => row[head.indexOf(column)];
  const linearParams = FIXTURE_LINEARS.reduce((s, l) => s + l.out * l.in, 0);
  expect(rows.map((r) => r[0])).toEqual(names);
  for (const row of rows) {
    const v = metrics.variants[row[0]];
    const p = v.ppl.tinystories;
    expect(Number(at(row, 'ppl:tinystories'))).toBe(p.ppl);
    expect(Number(at(row, 'ppl:tinystories_se'))).toBeCloseTo(pplStderr(p.ppl, p.windows), 10);
    expect(Number(at(row, 'acc:cloze'))).toBe(v.tasks.cloze.acc);
    expect(Number(at(row, 'acc:cloze_se'))).toBe(v.tasks.cloze.stderr.acc);
    expect(at(row, 'adapter_params')).toBe(v.adapter_params === null ? '' : String(v.adapter_params));
    if (v.adapter_params !== null) expect(Number(at(row, 'adapter_params_pct'))).toBeCloseTo((100 * v.adapter_params) / linearParams, 10);
    if (row[0] !== 'compressed') expect(Number(at(row, 'delta_compressed'))).toBeCloseTo(p.ppl - metrics.variants.compressed.ppl.tinystories.ppl, 10);
  }
  const eora = rows.find((r) => r[0] === 'eora-r8')!;
  const [o, k, e, s] = ['original', 'compressed', 'eora-r8', 'svd-r8'].map((n) => metrics.variants[n].ppl.tinystories.ppl);
  expect(Number(at(eora, 'gap_recovered_pct'))).toBeCloseTo((100 * (k - e)) / (k - o), 10);
  expect(at(eora, 'versus_svd_variant')).toBe('svd-r8');
  expect(Number(at(eora, 'versus_svd_delta'))).toBeCloseTo(e - s, 10);

  const md = await copied(app, 'Copy Markdown');
  const mdRow = md.split('\n').find((l) => l.startsWith('| eora-r8 |'))!;
  const cloze = metrics.variants['eora-r8'].tasks.cloze;
  expect(mdRow).toContain(`| ${e.toFixed(2)} ± ${pplStderr(e, metrics.variants['eora-r8'].ppl.tinystories.windows).toFixed(2)} |`);
  expect(mdRow).toContain(`| ${cloze.acc.toFixed(3)} ± ${cloze.stderr.acc.toFixed(3)} |`);
  expect(mdRow).toContain(`| ${((100 * (k - e)) / (k - o)).toFixed(1)} % |`);
  expect(md.split('\n').find((l) => l.startsWith('| compressed |'))).toContain(`+${(k - o).toFixed(2)}\\* |`);

  const tex = await copied(app, 'Copy LaTeX');
  expect(tex).toContain('\\begin{tabular}');
  const texRow = tex.split('\n').find((l) => l.startsWith('eora-r8 &'))!;
  expect(texRow).toContain(`& ${e.toFixed(2)} $\\pm$ `);
  expect(texRow).toContain(`& ${cloze.acc.toFixed(3)} $\\pm$ ${cloze.stderr.acc.toFixed(3)} &`);
  await shot(app, testInfo, 'results-table-1440');

  // A chart as a 3× PNG: three device pixels per CSS pixel, the run named in the file name
  // and in a caption band under the plot.
  const chart = app.getByRole('img', { name: 'perplexity (tinystories) per variant' });
  const box = (await chart.boundingBox())!;
  const actions = chart.locator('xpath=following-sibling::div[1]');
  await actions.getByRole('combobox').selectOption('3');
  const [png] = await Promise.all([app.waitForEvent('download'), actions.getByRole('button', { name: 'Export PNG' }).click()]);
  expect(png.suggestedFilename()).toContain('fixture-results-table');
  const bytes = readFileSync(await png.path());
  expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
  // IHDR: width and height, big-endian, at bytes 16 and 20.
  expect(Math.abs(bytes.readUInt32BE(16) - box.width * 3)).toBeLessThanOrEqual(3); // chart.js floors fractional CSS widths
  expect(bytes.readUInt32BE(20)).toBeGreaterThan(Math.round(box.height * 3));

  // The same chart as SVG: real text (title, every variant on the axis, the caption), a whisker
  // per variant's standard error, at the chart's CSS size plus the 20-px caption band.
  const [svgFile] = await Promise.all([app.waitForEvent('download'), actions.getByRole('button', { name: 'Export SVG' }).click()]);
  expect(svgFile.suggestedFilename()).toMatch(/fixture-results-table.*\.svg$/);
  const svg = readFileSync(await svgFile.path(), 'utf8');
  writeFileSync(testInfo.outputPath('chart.svg'), svg);
  await testInfo.attach('chart.svg', { path: testInfo.outputPath('chart.svg'), contentType: 'image/svg+xml' });
  const size = (name: string) => Number(new RegExp(`<svg[^>]* ${name}="([\\d.]+)"`).exec(svg)?.[1]);
  expect(Math.abs(size('width') - box.width)).toBeLessThanOrEqual(1);
  expect(Math.abs(size('height') - (box.height + 20))).toBeLessThanOrEqual(1);
  const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  expect(texts).toEqual(expect.arrayContaining(['original', 'compressed', 'svd-r8', 'eora-r8', 'perplexity (tinystories) (lower is better)']));
  expect(texts.some((t) => t.includes('fixture-results-table'))).toBe(true);
  expect(svg.match(/stroke="#1f2328"/g)).toHaveLength(names.length);

  // 1024 px: the page does not scroll sideways; the table scrolls inside its box, variant column sticky.
  await app.setViewportSize({ width: 1024, height: 700 });
  const wide = await app.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 1024 && !e.closest('.scroll')).sort((a, b) => b.getBoundingClientRect().right - a.getBoundingClientRect().right).slice(0, 8).map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`));
  expect(await app.evaluate(() => document.documentElement.scrollWidth), wide.join('\n')).toBeLessThanOrEqual(1024);
  const first = table.locator('tbody tr[data-variant="eora-r8"] th');
  const before = await first.boundingBox();
  await table.locator('xpath=..').evaluate((box) => (box.scrollLeft = box.scrollWidth));
  expect((await first.boundingBox())!.x).toBeCloseTo(before!.x, 0);
  await shot(app, testInfo, 'results-table-1024');
});
