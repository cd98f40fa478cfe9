// `eora pull` and hub ids through the CLI: registration, usage errors, HF_ENDPOINT/offline, and a
// command opening a model by repo id from $HF_HUB_CACHE. (Downloads: app/model/hub-download.test.ts.)
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoFolder } from '../../model/hub.js';
import { TINY_DIR } from '../../model/testing/fixtures.js';
import { runCli } from '../testing/run.js';

const root = mkdtempSync(join(tmpdir(), 'eora-pull-cli-'));
const saved = { cache: process.env.HF_HUB_CACHE, endpoint: process.env.HF_ENDPOINT };
const COMMIT = 'e'.repeat(40);

beforeAll(() => {
  const folder = repoFolder('Org/tiny', join(root, 'hub'));
  mkdirSync(join(folder, 'refs'), { recursive: true });
  cpSync(TINY_DIR, join(folder, 'snapshots', COMMIT), { recursive: true });
  writeFileSync(join(folder, 'refs', 'main'), COMMIT);
  process.env.HF_HUB_CACHE = join(root, 'hub');
});
afterAll(() => {
  for (const [name, value] of [['HF_HUB_CACHE', saved.cache], ['HF_ENDPOINT', saved.endpoint]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(root, { recursive: true, force: true });
});

describe('eora pull / hub ids', () => {
  it('inspect opens a cached model by repo id; a missing one suggests pull', async () => {
    const ok = await runCli(['inspect', 'Org/tiny', '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).path).toBe(join(repoFolder('Org/tiny', join(root, 'hub')), 'snapshots', COMMIT));
    const missing = await runCli(['inspect', 'Org/absent']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Org/absent@main: not found in the Hugging Face cache');
    expect(missing.stderr).toContain('npx eora pull Org/absent');
  });

  it('pull refuses what is not a repo id, and says offline when HF_ENDPOINT is unreachable', async () => {
    expect(await runCli(['pull', 'not-an-id'])).toMatchObject({ code: 2, stderr: 'eora pull: "not-an-id" is not a repo id (expected ORG/NAME) (see `eora pull --help`)\n' });
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((done) => closed.close(done));
    process.env.HF_ENDPOINT = `http://127.0.0.1:${port}`;
    const offline = await runCli(['pull', 'Org/other', '--revision', 'v2']);
    expect(offline).toMatchObject({ code: 1, stderr: `eora pull: Org/other@v2: offline: cannot reach http://127.0.0.1:${port} (ECONNREFUSED); files already in the cache open without network\n` });
  });
});
