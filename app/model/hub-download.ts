// Downloads a Hugging Face repo into the local hub cache in the layout transformers reads
// (see hub.ts): blobs/<etag> written as blobs/<etag>.incomplete then renamed, snapshot files as
// relative symlinks to their blob, refs/<rev> holding the commit. Node's fetch only.
//   model info  GET {endpoint}/api/models/{repo}/revision/{rev}   → {sha, siblings: [{rfilename}]}
//   a file      GET {endpoint}/{repo}/resolve/{sha}/{file}       → 200, or 3xx to a CDN; the first
//               response carries X-Linked-Etag (sha256 of an LFS file) or ETag, and the size.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, lstatSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { hubCacheDir, repoFolder } from './hub.js';

export class HubError extends Error {
  override name = 'HubError';
}

export interface PullOptions {
  repo: string;
  revision?: string;
  /** Glob patterns on file names (`*` and `?`); none = every file. */
  include?: string[];
  cache?: string;
  endpoint?: string; // default $HF_ENDPOINT or https://huggingface.co
  token?: string; // default $HF_TOKEN
  /** Bytes done / total over all files to download, called as data arrives. */
  onProgress?: (done: number, total: number, file: string) => void;
}

export interface PullResult {
  commit: string;
  snapshot: string;
  files: string[];
  downloadedBytes: number;
}

const SHA256 = /^[0-9a-f]{64}$/;
const OFFLINE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'UND_ERR_CONNECT_TIMEOUT']);

export async function pullRepo(options: PullOptions): Promise<PullResult> {
  const revision = options.revision ?? 'main';
  const cache = options.cache ?? hubCacheDir();
  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const token = options.token ?? process.env.HF_TOKEN;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const label = `${options.repo}@${revision}`;

  const infoUrl = `${endpoint}/api/models/${options.repo}/revision/${encodeURIComponent(revision)}`;
  const info = await request(infoUrl, headers, label, endpoint);
  if (!info.ok) throw httpError(info.status, label, endpoint);
  const body = (await info.json()) as { sha?: unknown; siblings?: { rfilename?: unknown }[] };
  if (typeof body.sha !== 'string' || !Array.isArray(body.siblings)) throw new HubError(`${label}: unexpected model info from ${infoUrl} (no sha or siblings)`);
  const commit = body.sha;
  const patterns = (options.include ?? []).map(globToRegExp);
  const files = body.siblings
    .map((s) => s.rfilename)
    .filter((f): f is string => typeof f === 'string' && !f.split('/').includes('..'))
    .filter((f) => patterns.length === 0 || patterns.some((p) => p.test(f) || p.test(f.split('/').pop()!)));
  if (files.length === 0) throw new HubError(`${label}: no files match --include ${options.include?.join(',')} (the repo has ${body.siblings.length})`);

  const folder = repoFolder(options.repo, cache);
  const snapshot = join(folder, 'snapshots', commit);
  mkdirSync(join(folder, 'blobs'), { recursive: true });
  // Metadata first (sizes for the progress total), then the bytes.
  const plans: FilePlan[] = [];
  for (const file of files) plans.push(await planFile(`${endpoint}/${options.repo}/resolve/${commit}/${encodePath(file)}`, file, headers, label, endpoint));
  const total = plans.reduce((sum, p) => sum + (p.size ?? 0), 0);
  let done = 0;
  let downloadedBytes = 0;
  for (const plan of plans) {
    const blob = join(folder, 'blobs', plan.etag);
    if (!existsSync(blob)) downloadedBytes += await downloadBlob(plan, blob, headers, label, (n) => options.onProgress?.((done += n), total, plan.file));
    else options.onProgress?.((done += plan.size ?? 0), total, plan.file);
    const link = join(snapshot, plan.file);
    mkdirSync(dirname(link), { recursive: true });
    if (isLink(link)) unlinkSync(link);
    symlinkSync(relative(dirname(link), blob), link);
  }
  if (revision !== commit) {
    const ref = join(folder, 'refs', revision);
    mkdirSync(dirname(ref), { recursive: true });
    writeFileSync(ref, commit);
  }
  return { commit, snapshot, files, downloadedBytes };
}

interface FilePlan {
  file: string;
  etag: string;
  size: number | null;
  url: string; // where the bytes are (after redirects)
  authorized: boolean; // same origin as the hub: send the token
}

/** Reads the first response's ETag/size, following redirects by hand so those headers are not lost. */
async function planFile(url: string, file: string, headers: Record<string, string>, label: string, endpoint: string): Promise<FilePlan> {
  let response = await request(url, headers, label, endpoint, 'HEAD');
  const etag = normalizeEtag(response.headers.get('x-linked-etag') ?? response.headers.get('etag'));
  const sizeHeader = response.headers.get('x-linked-size') ?? response.headers.get('content-length');
  let location = url;
  for (let hops = 0; response.status >= 300 && response.status < 400; hops++) {
    const next = response.headers.get('location');
    if (!next || hops > 5) throw new HubError(`${label}: ${file}: too many redirects`);
    location = new URL(next, location).toString();
    response = await request(location, sameOrigin(location, url) ? headers : {}, label, endpoint, 'HEAD');
  }
  if (!response.ok) throw httpError(response.status, `${label}: ${file}`, endpoint);
  if (!etag) throw new HubError(`${label}: ${file}: the server sent no ETag`);
  return { file, etag, size: sizeHeader ? Number(sizeHeader) : null, url: location, authorized: sameOrigin(location, url) };
}

/** Into blob.incomplete (resumed with a Range request when a partial exists), verified, renamed. */
async function downloadBlob(plan: FilePlan, blob: string, headers: Record<string, string>, label: string, onBytes: (n: number) => void): Promise<number> {
  const partial = `${blob}.incomplete`;
  let hash = createHash('sha256');
  let have = existsSync(partial) ? statSync(partial).size : 0;
  if (have > 0) hash.update(readFileSync(partial));
  const auth = plan.authorized ? headers : {}; // the token goes to the hub only, never to a CDN
  const response = await request(plan.url, { ...auth, ...(have > 0 ? { range: `bytes=${have}-` } : {}) }, label, plan.url);
  if (!response.ok) throw httpError(response.status, `${label}: ${plan.file}`, plan.url);
  if (have > 0 && response.status !== 206) {
    have = 0; // the server ignored the Range: start over
    hash = createHash('sha256');
  }
  onBytes(have);
  const fd = openSync(partial, have > 0 ? 'a' : 'w');
  let written = 0;
  try {
    const reader = response.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      writeSync(fd, value);
      hash.update(value);
      written += value.length;
      onBytes(value.length);
    }
  } catch (error) {
    throw new HubError(`${label}: ${plan.file}: the connection was lost after ${have + written} of ${plan.size ?? '?'} bytes (kept; run the same command again to resume): ${describe(error)}`);
  } finally {
    closeSync(fd);
  }
  const size = have + written;
  if (plan.size !== null && size !== plan.size) {
    throw new HubError(`${label}: ${plan.file}: got ${size} of ${plan.size} bytes (kept; run the same command again to resume)`);
  }
  const digest = hash.digest('hex');
  if (SHA256.test(plan.etag) && digest !== plan.etag) {
    rmSync(partial, { force: true });
    throw new HubError(`${label}: ${plan.file}: sha256 mismatch (expected ${plan.etag}, got ${digest}); the partial download was discarded, run the same command again`);
  }
  renameSync(partial, blob);
  return written;
}

async function request(url: string, headers: Record<string, string>, label: string, endpoint: string, method = 'GET'): Promise<Response> {
  try {
    return await fetch(url, { method, headers, redirect: method === 'HEAD' ? 'manual' : 'follow' });
  } catch (error) {
    const code = causeCode(error);
    if (code && OFFLINE_CODES.has(code)) throw new HubError(`${label}: offline: cannot reach ${new URL(endpoint).origin} (${code}); files already in the cache open without network`);
    throw new HubError(`${label}: request to ${url} failed: ${describe(error)}`);
  }
}

function httpError(status: number, label: string, endpoint: string): HubError {
  if (status === 401 || status === 403) return new HubError(`${label}: gated or private: set HF_TOKEN to a token with access (HTTP ${status} from ${new URL(endpoint).origin})`);
  if (status === 404) return new HubError(`${label}: not found on ${new URL(endpoint).origin} (HTTP 404: check the repo id and revision)`);
  return new HubError(`${label}: HTTP ${status} from ${new URL(endpoint).origin}`);
}

function causeCode(error: unknown): string | undefined {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { message?: string } }).cause?.message;
  return `${(error as Error).message}${cause ? ` (${cause})` : ''}`;
}

/** `"abc"` / `W/"abc"` → `abc`. */
function normalizeEtag(etag: string | null): string | null {
  return etag ? etag.replace(/^W\//, '').replace(/^"|"$/g, '') : null;
}

function sameOrigin(a: string, b: string): boolean {
  return new URL(a).origin === new URL(b).origin;
}

function isLink(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function encodePath(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

function globToRegExp(glob: string): RegExp {
  const body = glob.trim().replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}
