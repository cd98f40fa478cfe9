import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync, lstatSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { hubCacheDir, listCachedModels, parseRepoId, repoFolder, resolveModelPath } from './hub.js';
import { openModel } from './open.js';
import { errorOf, tempDir, TINY_DIR } from './testing/fixtures.js';

const tmp = tempDir('eora-hub-');
afterAll(tmp.cleanup);
const MAIN_SHA = 'a'.repeat(40);
const OLD_SHA = 'b'.repeat(40);

/** Lays TINY_DIR out as huggingface_hub does: blobs named by sha256, snapshot files linking to them. */
function layOutCache(cache: string, repo: string): string {
  const folder = repoFolder(repo, cache);
  mkdirSync(join(folder, 'blobs'), { recursive: true });
  mkdirSync(join(folder, 'refs'), { recursive: true });
  for (const sha of [MAIN_SHA, OLD_SHA]) {
    const snapshot = join(folder, 'snapshots', sha);
    mkdirSync(snapshot, { recursive: true });
    for (const name of readdirSync(TINY_DIR)) {
      const bytes = readFileSync(join(TINY_DIR, name));
      const blob = createHash('sha256').update(bytes).digest('hex');
      writeFileSync(join(folder, 'blobs', blob), bytes);
      symlinkSync(join('..', '..', 'blobs', blob), join(snapshot, name));
    }
  }
  writeFileSync(join(folder, 'refs', 'main'), MAIN_SHA);
  writeFileSync(join(folder, 'refs', 'v1'), OLD_SHA + '\n');
  return folder;
}

describe('hub cache', () => {
  const cache = join(tmp.dir, 'hub');
  const folder = layOutCache(cache, 'Org/tiny.model-1');

  test('parses repo ids and refuses other text', () => {
    expect(parseRepoId('Qwen/Qwen3-1.7B')).toEqual({ repo: 'Qwen/Qwen3-1.7B', revision: 'main' });
    expect(parseRepoId('meta-llama/Llama-3.1-8B@refs/pr/3')).toEqual({ repo: 'meta-llama/Llama-3.1-8B', revision: 'refs/pr/3' });
    for (const text of ['model', 'a/b/c', './x', '../x/y', '/abs/path', 'a/ b']) expect(parseRepoId(text)).toBeNull();
  });

  test('cache location follows HF_HUB_CACHE, then HF_HOME, then ~/.cache', () => {
    expect(hubCacheDir({ HF_HUB_CACHE: '/c', HF_HOME: '/h' })).toBe('/c');
    expect(hubCacheDir({ HF_HOME: '/h' })).toBe(join('/h', 'hub'));
    expect(hubCacheDir({}).endsWith(join('.cache', 'huggingface', 'hub'))).toBe(true);
  });

  test('resolves a branch, a tag-like ref and a commit sha to the snapshot, reading through the symlinks', async () => {
    expect(resolveModelPath('Org/tiny.model-1', cache)).toBe(join(folder, 'snapshots', MAIN_SHA));
    expect(resolveModelPath('Org/tiny.model-1@v1', cache)).toBe(join(folder, 'snapshots', OLD_SHA));
    expect(resolveModelPath(`Org/tiny.model-1@${OLD_SHA}`, cache)).toBe(join(folder, 'snapshots', OLD_SHA));
    expect(lstatSync(join(folder, 'snapshots', MAIN_SHA, 'config.json')).isSymbolicLink()).toBe(true);
    const previous = process.env.HF_HUB_CACHE;
    process.env.HF_HUB_CACHE = cache;
    try {
      const viaId = await openModel('Org/tiny.model-1');
      const direct = await openModel(TINY_DIR);
      expect(viaId.path).toBe(join(folder, 'snapshots', MAIN_SHA));
      expect(viaId.config).toEqual(direct.config);
      const name = 'model.embed_tokens.weight';
      expect(Array.from(viaId.readTensor(name).slice(0, 16))).toEqual(Array.from(direct.readTensor(name).slice(0, 16)));
      viaId.close();
      direct.close();
    } finally {
      if (previous === undefined) delete process.env.HF_HUB_CACHE;
      else process.env.HF_HUB_CACHE = previous;
    }
  });

  test('a path on disk wins over a repo id', () => {
    const local = join(tmp.dir, 'Org', 'tiny.model-1');
    mkdirSync(local, { recursive: true });
    const cwd = process.cwd();
    process.chdir(tmp.dir);
    try {
      expect(resolveModelPath('Org/tiny.model-1', cache)).toBe('Org/tiny.model-1');
    } finally {
      process.chdir(cwd);
    }
  });

  test('an id not in the cache says so and suggests eora pull', () => {
    expect(errorOf(() => resolveModelPath('Org/absent', cache)).message).toBe(
      `Org/absent@main: not found in the Hugging Face cache ${cache} (download it with \`npx eora pull Org/absent\`)`,
    );
    expect(errorOf(() => resolveModelPath('Org/tiny.model-1@dev', cache)).message).toBe(
      `Org/tiny.model-1@dev: no revision "dev" in the Hugging Face cache ${cache} (download it with \`npx eora pull Org/tiny.model-1 --revision dev\`)`,
    );
  });

  test('lists cached snapshots with their refs and sizes', () => {
    const bytes = readdirSync(TINY_DIR).reduce((sum, name) => sum + statSync(join(TINY_DIR, name)).size, 0);
    expect(listCachedModels(cache).map((m) => [m.repo, m.revision, m.commit, m.bytes])).toEqual([
      ['Org/tiny.model-1', 'main', MAIN_SHA, bytes],
      ['Org/tiny.model-1', 'v1', OLD_SHA, bytes],
    ]);
    expect(listCachedModels(join(tmp.dir, 'nowhere'))).toEqual([]);
  });
});
