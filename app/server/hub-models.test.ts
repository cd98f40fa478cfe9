// The UI's "Open from Hugging Face" through the headless server: models.cached lists a hub cache
// laid out here (blobs + snapshot symlinks + refs/main), and model.inspect opens it by repo id.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoFolder } from '../model/hub.js';
import { TINY_DIR } from '../model/testing/fixtures.js';
import { startTestServer, type TestServer } from './testing/start-test-server.js';

const COMMIT = 'd'.repeat(40);
const root = mkdtempSync(join(tmpdir(), 'eora-hub-server-'));
const cache = join(root, 'hub');
const previousCache = process.env.HF_HUB_CACHE;
let t: TestServer;

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
  t = await startTestServer('test-token-hub-0123456789abcdef');
});

afterAll(async () => {
  await t.close();
  if (previousCache === undefined) delete process.env.HF_HUB_CACHE;
  else process.env.HF_HUB_CACHE = previousCache;
  rmSync(root, { recursive: true, force: true });
});

const call = async (method: string, params: unknown) => (await t.call(method, params)).body;

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
