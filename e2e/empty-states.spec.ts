// The run views on a fresh page, with no run open: each says so, names what it would show,
// and links to Runs (and the link works). No run is created: this stays fast.
import { expect, test } from './fixtures';

const views = [
  { link: 'Spectra', hash: '#/spectra' },
  { link: 'Per-layer error', hash: '#/layer-errors' },
  { link: 'Rank explorer', hash: '#/rank-explorer' },
  { link: 'Benchmarks', hash: '#/benchmarks' },
];

test('the run views without an open run say so and point to Runs', async ({ app }, testInfo) => {
  for (const { link, hash } of views) {
    await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: link, exact: true }).click();
    const empty = app.getByTestId('no-run');
    await expect(empty.getByRole('heading', { name: link, exact: true })).toBeVisible();
    await expect(empty).toContainText('No run is open.');
    await expect(empty.getByRole('link', { name: 'Open a run in Runs' })).toHaveAttribute('href', '#/runs');
    await expect(app.getByTestId('open-run')).toHaveCount(0);
    expect(new URL(app.url()).hash).toBe(hash);
  }
  const path = testInfo.outputPath('no-run.png');
  await app.screenshot({ path, fullPage: true });
  await testInfo.attach('no-run', { path, contentType: 'image/png' });
  await app.getByTestId('no-run').getByRole('link', { name: 'Open a run in Runs' }).click();
  await expect(app.getByRole('heading', { name: /^Runs in / })).toBeVisible();
  expect(new URL(app.url()).hash).toBe('#/runs');
});
