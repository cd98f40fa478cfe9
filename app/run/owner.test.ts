// app/run owns the run folder: no engine module outside it joins a run file's name into a path
// (it asks the file kind's module in app/run/files/ instead). A violation names the file and line.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../paths.js';

const root = packageRoot();
const names = String.raw`(?:run|layers|metrics|samples|failed)\.json|(?:compressed|calibration|quantized|hidden)\.safetensors|spectra|decompositions|adapters|partial`;
/** A run file or folder name as a quoted argument of a path join, or at the start of a run-relative template path. */
const joined = new RegExp(String.raw`\b(?:join|resolve|path)\([^;]*?(['"\x60])(?:${names})\1|\x60(?:spectra|decompositions|adapters|partial)/\$\{`);

describe('run folder ownership', () => {
  const outside = readdirSync(join(root, 'app'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .filter((f) => !f.startsWith(join('app', 'run') + '/') && !f.includes('/testing/'));

  it('finds the engine sources', () => {
    expect(outside.length).toBeGreaterThan(50);
  });

  it('no module outside app/run joins run-file names', () => {
    const bad = outside.flatMap((f) =>
      readFileSync(join(root, f), 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${f}:${i + 1}` }))
        .filter(({ line }) => !line.trimStart().startsWith('//') && joined.test(line))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(bad).toEqual([]);
  });

  it('the pattern catches what it is for', () => {
    expect(joined.test("const f = join(dir, 'run.json');")).toBe(true);
    expect(joined.test("TensorFile.open(run.path('compressed.safetensors'))")).toBe(true);
    expect(joined.test('const a = `adapters/${name}.safetensors`;')).toBe(true);
    expect(joined.test("parseExperiment(value, 'run.json')")).toBe(false);
  });
});
