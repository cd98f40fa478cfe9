// The app page for a spec, watched: any uncaught page error or console.error fails the test
// (after the test body, with every message listed). A spec that provokes an error on purpose
// names the expected console line with `test.use({ expectedConsoleErrors: [/…/] })`.
import { test as base, expect, type Locator, type Page } from '@playwright/test';
import { appPath } from './env';

/** Starts collecting page errors and console errors; returns the live list. */
export function watchForProblems(page: Page, expected: RegExp[] = []): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.stack ?? error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    if (expected.some((pattern) => pattern.test(text))) return;
    const { url, lineNumber } = message.location();
    problems.push(`console.error: ${text}${url ? ` (${url}:${lineNumber})` : ''}`);
  });
  return problems;
}

interface Fixtures {
  /** Console errors this test provokes on purpose. */
  expectedConsoleErrors: RegExp[];
  /** The workbench, opened with the token, with the bundled model's inspector on screen. */
  app: Page;
}

export const test = base.extend<Fixtures>({
  expectedConsoleErrors: [[], { option: true }],
  app: async ({ page, expectedConsoleErrors }, use) => {
    const problems = watchForProblems(page, expectedConsoleErrors);
    await page.goto(appPath);
    await use(page);
    expect(problems, 'the page reported errors').toEqual([]);
  },
});

export { expect };

/** The table of linear layers and its body rows. */
export function linearsTable(page: Page) {
  const grid = page.getByRole('grid', { name: /Linear layers/ });
  return { grid, rows: grid.locator('tbody').getByRole('row') };
}

/** A table row's cells keyed by their column header's text ("Shape [out, in]" → "[128, 128]"). */
export async function cellsByColumn(row: Locator): Promise<Record<string, string>> {
  return row.evaluate((tr) => {
    const headers = [...(tr.closest('table')?.querySelectorAll('thead th') ?? [])].map((th) => th.textContent?.trim() ?? '');
    return Object.fromEntries([...tr.children].map((cell, i) => [headers[i], cell.textContent?.trim() ?? '']));
  });
}

/** How many pixels of a canvas differ from its top-left pixel (the painted background), and
 *  how many are close to `rgb` (the bars' colour). */
export async function canvasInk(page: Page, selector: string, rgb: [number, number, number]) {
  return page.locator(selector).evaluate((canvas: HTMLCanvasElement, [r, g, b]) => {
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('the canvas has no 2d context');
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const [r0, g0, b0, a0] = [data[0], data[1], data[2], data[3]];
    let ink = 0;
    let colour = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] !== r0 || data[i + 1] !== g0 || data[i + 2] !== b0 || data[i + 3] !== a0) ink++;
      if (Math.abs(data[i] - r) < 12 && Math.abs(data[i + 1] - g) < 12 && Math.abs(data[i + 2] - b) < 12 && data[i + 3] > 200) colour++;
    }
    return { ink, colour, width: canvas.width, height: canvas.height };
  }, rgb);
}
