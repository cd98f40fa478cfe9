// `eora pull` against a local imitation of the hub: model info, resolve/ with an LFS redirect to a
// "CDN" that honours Range, a gated repo, a wrong checksum, a connection cut halfway.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { resolveModelPath, repoFolder } from './hub.js';
import { HubError, pullRepo } from './hub-download.js';
import { openModel } from './open.js';
import { tempDir, TINY_DIR } from './testing/fixtures.js';

const tmp = tempDir('eora-pull-');
const COMMIT = 'c'.repeat(40);
const files = Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => [f, readFileSync(join(TINY_DIR, f))]));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const LFS = new Set(['model.safetensors']);
const state = { cutNext: false, rangeRequests: [] as string[], wrongSha: false };
let server: Server;
let endpoint = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const info = /^\/api\/models\/(Org\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    if (url.pathname.includes('/gated')) return void res.writeHead(401).end('{"error":"Access restricted"}');
    if (info) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ id: info[1], sha: COMMIT, siblings: [...Object.keys(files), 'README.md'].map((rfilename) => ({ rfilename })) }));
    }
    const resolve = /^\/(Org\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (resolve) {
      const name = decodeURIComponent(resolve[3]);
      const bytes = files[name] ?? Buffer.from('# readme\n');
      if (LFS.has(name)) {
        const etag = state.wrongSha ? 'f'.repeat(64) : sha256(bytes);
        res.writeHead(302, { location: `/cdn/${name}`, 'x-repo-commit': COMMIT, 'x-linked-etag': `"${etag}"`, 'x-linked-size': String(bytes.length) });
        return void res.end();
      }
      res.writeHead(200, { etag: `"${createHash('sha1').update(bytes).digest('hex')}"`, 'x-repo-commit': COMMIT, 'content-length': bytes.length });
      return void res.end(req.method === 'HEAD' ? undefined : bytes);
    }
    const cdn = /^\/cdn\/(.+)$/.exec(url.pathname);
    if (cdn) {
      const bytes = files[cdn[1]];
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (req.headers.range) state.rangeRequests.push(req.headers.range);
      const start = range ? Number(range[1]) : 0;
      const body = bytes.subarray(start);
      res.writeHead(range ? 206 : 200, { 'content-length': body.length, ...(range ? { 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}) });
      if (req.method === 'HEAD') return void res.end();
      if (state.cutNext) {
        state.cutNext = false;
        res.write(body.subarray(0, body.length >> 1));
        return void setTimeout(() => res.socket?.destroy(), 50);
      }
      return void res.end(body);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((done) => server.close(done));
  tmp.cleanup();
});

describe('pullRepo', () => {
  test('a normal pull lays out blobs, snapshot symlinks and refs/main; the model opens by id', async () => {
    const cache = join(tmp.dir, 'normal');
    const progress: number[] = [];
    const result = await pullRepo({ repo: 'Org/tiny', include: ['*.safetensors', '*.json'], cache, endpoint, onProgress: (done) => progress.push(done) });
    const folder = repoFolder('Org/tiny', cache);
    expect(result.commit).toBe(COMMIT);
    expect(result.files.sort()).toEqual(Object.keys(files).sort()); // README.md left out by --include
    expect(readFileSync(join(folder, 'refs', 'main'), 'utf8')).toBe(COMMIT);
    const link = join(folder, 'snapshots', COMMIT, 'model.safetensors');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(join('..', '..', 'blobs', sha256(files['model.safetensors'])));
    for (const [name, bytes] of Object.entries(files)) expect(readFileSync(join(folder, 'snapshots', COMMIT, name)).equals(bytes)).toBe(true);
    expect(progress.at(-1)).toBe(Object.values(files).reduce((s, b) => s + b.length, 0));
    expect(readdirSync(join(folder, 'blobs')).filter((n) => n.endsWith('.incomplete'))).toEqual([]);
    const model = await openModel(resolveModelPath('Org/tiny', cache));
    expect(model.readTensor('model.norm.weight')).toEqual((await openModel(TINY_DIR)).readTensor('model.norm.weight'));
    model.close();
    const again = await pullRepo({ repo: 'Org/tiny', include: ['*.json', '*.safetensors'], cache, endpoint });
    expect(again.downloadedBytes).toBe(0); // every blob already cached
  });

  test('a connection cut halfway keeps the partial; the next pull resumes with a Range request', async () => {
    const cache = join(tmp.dir, 'cut');
    state.cutNext = true;
    const error = await pullRepo({ repo: 'Org/tiny', include: ['model.safetensors'], cache, endpoint }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubError);
    expect((error as Error).message).toMatch(/model\.safetensors: the connection was lost after \d+ of \d+ bytes \(kept; run the same command again to resume\)/);
    const blob = join(repoFolder('Org/tiny', cache), 'blobs', sha256(files['model.safetensors']));
    const half = files['model.safetensors'].length >> 1;
    expect(readFileSync(`${blob}.incomplete`).length).toBe(half);
    const result = await pullRepo({ repo: 'Org/tiny', include: ['model.safetensors'], cache, endpoint });
    expect(state.rangeRequests).toEqual([`bytes=${half}-`]);
    expect(result.downloadedBytes).toBe(files['model.safetensors'].length - half);
    expect(readFileSync(blob).equals(files['model.safetensors'])).toBe(true);
    expect(existsSync(`${blob}.incomplete`)).toBe(false);
  });

  test('401 says gated or private: set HF_TOKEN', async () => {
    await expect(pullRepo({ repo: 'Org/gated', cache: join(tmp.dir, 'gated'), endpoint })).rejects.toThrow(
      `Org/gated@main: gated or private: set HF_TOKEN to a token with access (HTTP 401 from ${endpoint})`,
    );
  });

  test('a sha256 mismatch discards the partial and says so; nothing is linked', async () => {
    const cache = join(tmp.dir, 'mismatch');
    state.wrongSha = true;
    try {
      await expect(pullRepo({ repo: 'Org/tiny', include: ['model.safetensors'], cache, endpoint })).rejects.toThrow(/model\.safetensors: sha256 mismatch \(expected f{64}, got [0-9a-f]{64}\); the partial download was discarded/);
    } finally {
      state.wrongSha = false;
    }
    const folder = repoFolder('Org/tiny', cache);
    expect(readdirSync(join(folder, 'blobs'))).toEqual([]);
    expect(existsSync(join(folder, 'snapshots', COMMIT, 'model.safetensors'))).toBe(false);
  });

  test('no server listening: an error saying it is offline', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((done) => closed.close(done));
    await expect(pullRepo({ repo: 'Org/tiny', cache: join(tmp.dir, 'offline'), endpoint: `http://127.0.0.1:${port}` })).rejects.toThrow(
      `Org/tiny@main: offline: cannot reach http://127.0.0.1:${port} (ECONNREFUSED)`,
    );
  });
});
