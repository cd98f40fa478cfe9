// Hugging Face repo ids (`ORG/NAME[@revision]`) resolved in the local hub cache, read in place
// the way transformers/huggingface_hub lay it out:
//   <cache>/models--ORG--NAME/refs/<branch>      a commit sha
//   <cache>/models--ORG--NAME/snapshots/<sha>/…  files, usually symlinks into ../../blobs/
// Nothing is copied: the snapshot folder is opened like any model folder.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ModelError } from './types.js';

export interface RepoRef {
  repo: string; // ORG/NAME
  revision: string; // branch, tag or commit sha; 'main' when not given
}

const REPO_ID = /^([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)(?:@([\w./-]+))?$/;
const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** `ORG/NAME[@rev]` → its parts; null when the text cannot be a repo id. */
export function parseRepoId(text: string): RepoRef | null {
  const match = REPO_ID.exec(text);
  if (!match || match[1] === '..' || match[2] === '..' || match[1] === '.') return null;
  return { repo: `${match[1]}/${match[2]}`, revision: match[3] ?? 'main' };
}

/** $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (huggingface_hub's order). */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  return join(homedir(), '.cache', 'huggingface', 'hub');
}

/** The cache folder of one repo: `models--ORG--NAME`. */
export function repoFolder(repo: string, cache = hubCacheDir()): string {
  return join(cache, `models--${repo.split('/').join('--')}`);
}

/**
 * A model path as the user typed it → a folder or file on disk. A path that exists wins; a text
 * shaped like a repo id resolves to its cached snapshot; anything else is returned unchanged
 * (openModel then reports it as missing).
 */
export function resolveModelPath(path: string, cache = hubCacheDir()): string {
  if (existsSync(path)) return path;
  const ref = parseRepoId(path);
  return ref ? resolveSnapshot(ref, cache) : path;
}

/** The snapshot folder of a cached repo at a revision; ModelError when it is not cached. */
export function resolveSnapshot(ref: RepoRef, cache = hubCacheDir()): string {
  const folder = repoFolder(ref.repo, cache);
  const label = `${ref.repo}@${ref.revision}`;
  const missing = (what: string) =>
    new ModelError(label, `${what} in the Hugging Face cache ${cache} (download it with \`npx eora pull ${ref.repo}${ref.revision === 'main' ? '' : ` --revision ${ref.revision}`}\`)`);
  if (!existsSync(folder)) return fail(missing('not found'));
  const sha = COMMIT_SHA.test(ref.revision) ? ref.revision : readRef(folder, ref.revision);
  if (!sha) return fail(missing(`no revision "${ref.revision}"`));
  const snapshot = join(folder, 'snapshots', sha);
  if (!existsSync(snapshot)) return fail(missing(`revision "${ref.revision}" (commit ${sha}) has no snapshot`));
  return snapshot;
}

function fail(error: ModelError): never {
  throw error;
}

function readRef(folder: string, revision: string): string | null {
  const file = join(folder, 'refs', revision);
  if (!existsSync(file)) return null;
  const sha = readFileSync(file, 'utf8').trim();
  return COMMIT_SHA.test(sha) ? sha : null;
}

export interface CachedModel {
  repo: string;
  revision: string; // a ref name, or the commit sha of a snapshot no ref points at
  commit: string;
  path: string; // the snapshot folder
  bytes: number; // sum of the files the snapshot links to
}

/** Every cached model snapshot (repos with a config.json or a .bin file), sorted by repo. */
export function listCachedModels(cache = hubCacheDir()): CachedModel[] {
  if (!existsSync(cache)) return [];
  const found: CachedModel[] = [];
  for (const entry of readdirSync(cache).sort()) {
    if (!entry.startsWith('models--')) continue;
    const repo = entry.slice('models--'.length).split('--').join('/');
    const folder = join(cache, entry);
    const snapshots = existsSync(join(folder, 'snapshots')) ? readdirSync(join(folder, 'snapshots')) : [];
    const refs = existsSync(join(folder, 'refs')) ? listRefs(join(folder, 'refs')) : [];
    for (const commit of snapshots.sort()) {
      const path = join(folder, 'snapshots', commit);
      if (!looksLikeModel(path)) continue;
      const names = refs.filter((r) => readRef(folder, r) === commit);
      for (const revision of names.length > 0 ? names : [commit]) found.push({ repo, revision, commit, path, bytes: folderBytes(path) });
    }
  }
  return found;
}

function listRefs(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? listRefs(full, `${prefix}${name}/`) : [`${prefix}${name}`];
  });
}

function looksLikeModel(path: string): boolean {
  return readdirSync(path).some((name) => name === 'config.json' || name.endsWith('.bin'));
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    try {
      const stat = statSync(join(dir, name)); // follows the symlink into blobs/
      total += stat.isDirectory() ? folderBytes(join(dir, name)) : stat.size;
    } catch {
      // a dangling link (blob deleted): counts as nothing
    }
  }
  return total;
}
