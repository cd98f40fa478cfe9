// The UI's "Open from Hugging Face" through the headless server: models.cached lists a hub cache
// laid out here (blobs + snapshot symlinks + refs/main), and model.inspect opens it by repo id.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineHost } from '../jobs/host.js';
import { repoFolder } from '../model/hub.js';
import { testEngine } from '../testing/engine.js';
import { TINY_DIR } from '../model/testing/fixtures.js';
import { startServer, type RunningServer } from './server.js';

const token = 'test-token-hub-0123456789abcdef';
const COMMIT = 'd'.repeat(40);
const root = mkdtempSync(join(tmpdir(), 'eora-hub-server-'));
const cache = join(root, 'hub');
const previousCache = process.env.HF_HUB_CACHE;
let engine: EngineHost;
let server: RunningServer;
let base: string;
let requests = 0;

beforeAll(async () => {
  const folder = repoFolder('Org/tiny', cache);
  mkdirSync(join(folder, 'blobs'), { recursive: true });
  mkdirSync(join(folder, 'snapshots', COMMIT), { recursive: true });
  mkdirSync(join(folder, 'refs'), { recursive: true });
  for (const name of readdirSync(TINY_DIR)) {
    const bytes = readFileSync(join(TINY_DIR, name));
    const blob = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(folder, 'blobs', blob), bytes);
    symlinkSync(join('..', '..', 'blobs', blob), join(folder, 'snapshots', COMMIT, name));
  }
  writeFileSync(join(folder, 'refs', 'main'), COMMIT);
  process.env.HF_HUB_CACHE = cache; // the engine worker inherits it
  const ui = join(root, 'ui');
  mkdirSync(ui);
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>ui</title>');
  engine = testEngine();
  server = await startServer({ engine, rendererDir: ui, token });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server.close();
  await engine.close();
  if (previousCache === undefined) delete process.env.HF_HUB_CACHE;
  else process.env.HF_HUB_CACHE = previousCache;
  rmSync(root, { recursive: true, force: true });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const call = async (method: string, params: unknown): Promise<any> => {
  const response = await fetch(`${base}/api/call`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ id: `r${++requests}`, method, params }),
  });
  return response.json();
};

describe('models from the Hugging Face cache over the server', () => {
  it('models.cached lists the cached repo with its revision, commit and size', async () => {
    const bytes = readdirSync(TINY_DIR).reduce((sum, name) => sum + readFileSync(join(TINY_DIR, name)).length, 0);
    const body = await call('models.cached', {});
    expect(body.result).toEqual({ cache, models: [{ repo: 'Org/tiny', revision: 'main', commit: COMMIT, path: join(repoFolder('Org/tiny', cache), 'snapshots', COMMIT), bytes }] });
  });

  it('model.inspect opens the model by repo id, the same as the folder', async () => {
    const byId = await call('model.inspect', { model: 'Org/tiny' });
    const byPath = await call('model.inspect', { model: TINY_DIR });
    expect(byId.result.path).toBe(join(repoFolder('Org/tiny', cache), 'snapshots', COMMIT));
    expect(byId.result.linears).toEqual(byPath.result.linears);
  });

  it('an id not in the cache is an error suggesting eora pull', async () => {
    const body = await call('model.inspect', { model: 'Org/absent' });
    expect(body.error.message).toContain(`Org/absent@main: not found in the Hugging Face cache ${cache} (download it with \`npx eora pull Org/absent\`)`);
  });
});
