// "Try the model": the UI's greedy continuation is exactly what the engine API returns for
// the same request.
import type { APIRequestContext } from '@playwright/test';
import { token } from './env';
import { expect, test } from './fixtures';

async function generateViaApi(request: APIRequestContext, prompt: string, maxNewTokens: number) {
  const response = await request.post('/api/call', {
    headers: { Authorization: `Bearer ${token}` },
    data: { id: 'e2e-generate', method: 'model.generate', params: { prompt, maxNewTokens, temperature: 0 } },
  });
  const body = await response.json();
  expect(body, `model.generate over HTTP (status ${response.status()})`).toMatchObject({ ok: true });
  return body.result as { prompt: string; text: string; token_ids: number[] };
}

test('a greedy continuation of "Once upon a time" matches the engine API', async ({ app, request }, testInfo) => {
  const prompt = 'Once upon a time';
  const maxNewTokens = 40;
  const panel = app.getByRole('region', { name: 'Try the model' });
  await expect(panel.getByLabel('Prompt')).toHaveValue(prompt);
  await panel.getByLabel('Max new tokens').fill(String(maxNewTokens));
  await panel.getByRole('button', { name: 'Generate' }).click();

  // Either the continuation or the engine's error appears; an error fails with its message.
  const continuation = panel.getByTestId('continuation');
  const failure = panel.getByRole('alert').filter({ hasText: 'Generation failed' });
  await expect(continuation.or(failure)).toBeVisible({ timeout: 45_000 });
  // (textContent() waits for its element, so read the alert only when there is one.)
  if ((await failure.count()) > 0) throw new Error(`the panel says: ${await failure.textContent()}`);
  await expect(continuation).toHaveText(/[A-Za-z]/);
  await expect(panel.getByRole('button', { name: 'Generate' })).toBeEnabled();
  const text = (await continuation.textContent()) ?? '';
  expect(text.match(/[A-Za-z]+/g)?.length ?? 0, `a few words in ${JSON.stringify(text)}`).toBeGreaterThanOrEqual(3);

  const api = await generateViaApi(request, prompt, maxNewTokens);
  expect(text).toBe(api.text);

  const path = testInfo.outputPath('generate.png');
  await panel.screenshot({ path });
  await testInfo.attach('generate', { path, contentType: 'image/png' });
});

test('Generate is disabled while running and Cancel aborts the call', async ({ app }) => {
  // Hold the generate request back so "running" lasts long enough to act on; cancelling
  // must not wait for it.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await app.route('**/api/call', async (route) => {
    if (route.request().postDataJSON()?.method === 'model.generate') await held;
    await route.continue().catch(() => {});
  });

  const panel = app.getByRole('region', { name: 'Try the model' });
  const generateButton = panel.getByRole('button', { name: 'Generate' });
  const cancelButton = panel.getByRole('button', { name: 'Cancel' });
  await expect(cancelButton).toBeDisabled();

  const sent = app.waitForRequest((r) => r.url().endsWith('/api/call') && r.postDataJSON()?.method === 'model.generate');
  await generateButton.click();
  const generateId = (await sent).postDataJSON().id as string;
  await expect(generateButton).toBeDisabled();
  await expect(cancelButton).toBeEnabled();

  const cancelSent = app.waitForRequest((r) => r.url().endsWith('/api/cancel'));
  await cancelButton.click();
  expect((await cancelSent).postDataJSON().id).toBe(generateId);
  await expect(panel.getByRole('status')).toHaveText('Cancelled.');
  await expect(generateButton).toBeEnabled();
  await expect(cancelButton).toBeDisabled();
  release();
});
