// The layers stay apart: the engine (app/) never imports Electron, Svelte, chart.js or DOM
// globals; lower engine folders never import higher ones; the renderer reaches the engine
// only through app/contract. A violation names the file and the import.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from './paths.js';

const root = packageRoot();

function sources(dir: string, extensions = ['.ts', '.svelte']): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && extensions.some((x) => e.name.endsWith(x)))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

function imports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]);
}

/** Folders of app/ from lowest to highest; a folder may import its own level and below. */
const levels: Record<string, number> = {
  'paths.ts': 0,
  tensor: 0,
  linalg: 0,
  wasm: 0, // the WebAssembly binary writer kernels are stated with
  contract: 0,
  tokenizer: 2, // shares model/'s byte reader and errors
  model: 2,
  onnx: 2,
  forward: 3,
  calibrate: 4,
  compress: 5,
  compensate: 6,
  eval: 7,
  generate: 7,
  run: 8,
  export: 8,
  experiment: 9,
  bench: 10,
  jobs: 10,
  engine: 10,
  server: 11,
  cli: 12,
};

const topFolder = (appRelative: string) => appRelative.split('/')[0];

describe('layering', () => {
  const engineFiles = sources('app', ['.ts']).filter((f) => !f.endsWith('.test.ts'));

  it('finds the engine sources', () => {
    expect(engineFiles.length).toBeGreaterThan(10);
  });

  it('app/ imports nothing from electron, svelte, chart.js or the renderer', () => {
    const bad = engineFiles.flatMap((f) =>
      imports(f)
        .filter((i) => /^(electron|svelte|chart\.js)(\/|$)/.test(i) || i.includes('renderer/') || i.includes('main/'))
        .map((i) => `${f} imports ${i}`),
    );
    expect(bad).toEqual([]);
  });

  it('app/ uses no DOM globals', () => {
    const dom = /\b(window|document|localStorage|sessionStorage|navigator|HTMLElement|HTMLCanvasElement)\s*[.[(]/;
    const bad = engineFiles.filter((f) => dom.test(readFileSync(join(root, f), 'utf8').replace(/\/\/.*$/gm, '')));
    expect(bad).toEqual([]);
  });

  it('lower engine folders never import higher ones', () => {
    const bad: string[] = [];
    for (const file of engineFiles) {
      const from = topFolder(relative('app', file));
      for (const spec of imports(file).filter((i) => i.startsWith('.'))) {
        const target = relative(join(root, 'app'), join(root, file, '..', spec));
        const to = topFolder(target);
        if (levels[from] !== undefined && levels[to] !== undefined && levels[to] > levels[from]) bad.push(`${file} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('the renderer reaches the engine only through app/contract', () => {
    const bad = sources('renderer/src').flatMap((f) =>
      imports(f)
        .filter((i) => i.includes('/app/') && !i.includes('/app/contract/'))
        .map((i) => `${f} imports ${i}`),
    );
    expect(bad).toEqual([]);
  });
});
