// The inspector against the real engine and the bundled model (tinystories-656k: 2 layers ×
// 7 linears, hidden 128).
import { readFile } from 'node:fs/promises';
import { bundled, token } from './env';
import { canvasInk, cellsByColumn, expect, linearsTable, test } from './fixtures';

const barColour: [number, number, number] = [0x4a, 0x73, 0xb5]; // WeightHistogram's bars

test('the header names the device and the bundled model; its 14 linears are listed', async ({ app }, testInfo) => {
  await expect(app.getByTestId('engine-device')).toHaveText('cpu');
  await expect(app.getByTestId('open-model')).toContainText(bundled.name);
  await expect(app).toHaveTitle(new RegExp(`EoRA Workbench.*${bundled.name}.*cpu`));

  const { rows } = linearsTable(app);
  await expect(rows).toHaveCount(bundled.linearCount);
  const q = rows.filter({ has: app.getByRole('rowheader', { name: 'model.layers.0.self_attn.q_proj', exact: true }) });
  await expect(q).toHaveCount(1);
  expect(await cellsByColumn(q)).toMatchObject({ Name: 'model.layers.0.self_attn.q_proj', 'Shape [out, in]': '[128, 128]' });

  const architecture = app.getByRole('region', { name: 'Architecture' });
  await expect(architecture).toContainText('LlamaForCausalLM');
  await expect(architecture.getByRole('definition')).not.toHaveCount(0);

  const path = testInfo.outputPath('inspector.png');
  await app.screenshot({ path, fullPage: true });
  await testInfo.attach('inspector', { path, contentType: 'image/png' });
});

test('selecting a linear plots its weight histogram', async ({ app }, testInfo) => {
  const name = 'model.layers.1.mlp.down_proj';
  const { rows } = linearsTable(app);
  const row = rows.filter({ has: app.getByRole('rowheader', { name, exact: true }) });
  await row.click();
  await expect(row).toHaveAttribute('aria-selected', 'true');
  await expect(rows.and(app.locator('[aria-selected="true"]'))).toHaveCount(1);

  const histogram = app.getByRole('region', { name: /Weight histogram/ });
  await expect(histogram.getByTestId('histogram-layer')).toHaveText(name);
  await expect(histogram.getByRole('img', { name: `Weights of ${name}` })).toBeVisible();
  await expect(histogram).toHaveAttribute('aria-busy', 'false');

  // Drawn, not blank: many pixels differ from the background and many are bar-coloured.
  const ink = await canvasInk(app, 'section[aria-labelledby="histogram-heading"] canvas', barColour);
  expect(ink.width * ink.height).toBeGreaterThan(0);
  expect(ink.ink, `non-background pixels of ${ink.width}×${ink.height}`).toBeGreaterThan(2000);
  expect(ink.colour, 'bar-coloured pixels').toBeGreaterThan(500);

  // The chart's exports: its picture as PNG, its numbers as CSV (one row per bin).
  const [png] = await Promise.all([app.waitForEvent('download'), histogram.getByRole('button', { name: 'Export PNG' }).click()]);
  expect(png.suggestedFilename()).toBe(`weights-of-${name}.png`);
  const pngBytes = await readFile(await png.path());
  expect(pngBytes.subarray(1, 4).toString('latin1')).toBe('PNG');
  const [csv] = await Promise.all([app.waitForEvent('download'), histogram.getByRole('button', { name: 'Export CSV' }).click()]);
  expect(csv.suggestedFilename()).toBe(`weights-of-${name}.csv`);
  const lines = (await readFile(await csv.path(), 'utf8')).trimEnd().split('\r\n');
  expect(lines[0]).toBe('bin_start,bin_end,count');
  expect(lines).toHaveLength(1 + 60);
  const total = lines.slice(1).reduce((sum, line) => sum + Number(line.split(',')[2]), 0);
  expect(total, 'every weight of a [128, 384] linear falls in some bin').toBe(128 * 384);

  const path = testInfo.outputPath('histogram.png');
  await histogram.screenshot({ path });
  await testInfo.attach('histogram', { path, contentType: 'image/png' });
});

test('the keyboard moves the focus through the table and Enter selects', async ({ app }) => {
  const { rows } = linearsTable(app);
  await expect(rows).toHaveCount(bundled.linearCount);
  const names = await rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.name ?? ''));
  const rowNamed = (name: string) => rows.filter({ has: app.getByRole('rowheader', { name, exact: true }) });
  const histogramLayer = app.getByTestId('histogram-layer');

  // The first linear is selected at start and takes the Tab focus.
  await expect(rowNamed(names[0])).toHaveAttribute('aria-selected', 'true');
  await expect(rowNamed(names[0])).toHaveAttribute('tabindex', '0');
  await rowNamed(names[0]).focus();

  await app.keyboard.press('ArrowDown');
  await app.keyboard.press('ArrowDown');
  await expect(rowNamed(names[2])).toBeFocused();
  await expect(rowNamed(names[0])).toHaveAttribute('aria-selected', 'true'); // moving is not selecting
  await app.keyboard.press('Enter');
  await expect(rowNamed(names[2])).toHaveAttribute('aria-selected', 'true');
  await expect(rowNamed(names[0])).toHaveAttribute('aria-selected', 'false');
  await expect(histogramLayer).toHaveText(names[2]);

  await app.keyboard.press('End');
  await expect(rowNamed(names.at(-1)!)).toBeFocused();
  await app.keyboard.press('ArrowDown'); // stays on the last row
  await expect(rowNamed(names.at(-1)!)).toBeFocused();
  await app.keyboard.press(' ');
  await expect(rowNamed(names.at(-1)!)).toHaveAttribute('aria-selected', 'true');
  await expect(histogramLayer).toHaveText(names.at(-1)!);

  await app.keyboard.press('Home');
  await app.keyboard.press('ArrowUp'); // stays on the first row
  await expect(rowNamed(names[0])).toBeFocused();
  // The focused row shows a focus ring (not only the selection's colour).
  const outline = await rowNamed(names[0]).evaluate((tr) => getComputedStyle(tr).outlineStyle);
  expect(outline).toBe('solid');
});

test.describe('a model that cannot be opened', () => {
  // The engine answers a failed call with HTTP 500, which Chromium logs as a failed resource.
  test.use({ expectedConsoleErrors: [/Failed to load resource: the server responded with a status of 500/] });

  test("shows the engine's error naming the file, and keeps the open model", async ({ app }, testInfo) => {
    const { rows } = linearsTable(app);
    await expect(rows).toHaveCount(bundled.linearCount);

    const missing = '/tmp/eora-e2e-missing/no-such-model.bin';
    await app.getByLabel('Model path').fill(missing);
    await app.getByRole('button', { name: 'Open', exact: true }).click();

    const alert = app.getByRole('alert').filter({ hasText: 'Could not open the model' });
    await expect(alert).toBeVisible();
    await expect(alert).toContainText('no-such-model.bin');
    await expect(rows).toHaveCount(bundled.linearCount);
    await expect(app.getByTestId('open-model')).toContainText(bundled.name);

    const path = testInfo.outputPath('open-error.png');
    await app.screenshot({ path });
    await testInfo.attach('open-error', { path, contentType: 'image/png' });
  });
});

test('the API refuses calls without the token (401)', async ({ request }) => {
  const body = { id: 'e2e-no-token', method: 'engine.info', params: {} };

  const anonymous = await request.post('/api/call', { data: body });
  expect(anonymous.status()).toBe(401);
  expect((await anonymous.json()).error.code).toBe('unauthorized');

  const wrong = await request.post('/api/call', { data: body, headers: { Authorization: `Bearer ${'x'.repeat(token.length)}` } });
  expect(wrong.status()).toBe(401);

  const page = await request.get('/');
  expect(page.status()).toBe(401);

  const authorized = await request.post('/api/call', { data: body, headers: { Authorization: `Bearer ${token}` } });
  expect(authorized.status()).toBe(200);
  expect((await authorized.json()).result.device).toBe('cpu');
});
