// app/run owns the run folder: every read and write of a run file goes through that file kind's
// module in app/run/files/ (its schema, its read/write pair). Outside app/run, a module may know
// a run file's path only to name it in a message. Four rules make that checkable line by line
// (comments aside); a violation names the file and line:
//
//   1. no run file or folder name (`run.json`, `compressed.safetensors`, `adapters`, …) as a
//      quoted argument of a path join, nor a run-relative template path (`adapters/${…}`);
//   2. the path helpers of app/run/files (every exported `…Path`) and RunFolder#path appear only
//      inside a template literal's `${…}`, a message — never as an argument of a reader, a file
//      system call or a variable that one would get later; and they are imported under their
//      own names (an alias would hide them from this rule);
//   3. no path joined onto a run folder (`join(run.dir, …)`, `join(runDir, …)`): the engine's
//      names for a run folder are `run.dir`, `this.run.dir` and `runDir`;
//   4. app/run's readers of a path (`TensorFile`, `readRunTensor`, `readRunTensor64`,
//      `openRunFile`) are not imported as values: a module that opens a run's safetensors file
//      by path is doing app/run's job.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../paths.js';

const root = packageRoot();
const names = String.raw`(?:run|layers|metrics|samples|failed)\.json|(?:compressed|calibration|quantized|hidden)\.safetensors|spectra|decompositions|adapters|partial`;
/** Rule 1: a run file or folder name as a quoted argument of a path join, or at the start of a run-relative template path. */
const joinedName = new RegExp(String.raw`\b(?:join|resolve|path)\([^;]*?(['"\x60])(?:${names})\1|\x60(?:spectra|decompositions|adapters|partial)/\$\{`);

/** The path helpers app/run/files exports (`compressedPath`, `adapterPath`, …), found in its sources. */
const helpers = readdirSync(join(root, 'app', 'run', 'files'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .flatMap((f) => [...readFileSync(join(root, 'app', 'run', 'files', f), 'utf8').matchAll(/^export (?:const|function) (\w+Path)\b/gm)].map((m) => m[1]));
/** Rule 2: a helper call (or RunFolder#path) not opened by `${`, or a helper imported under another name. */
const helperCall = new RegExp(String.raw`(?<!\$\{)\b(?:${helpers.join('|')})\(|(?<!\$\{)\brun\.path\(|\b(?:${helpers.join('|')}) as \w`);
/** Rule 3: a path built on a run folder. */
const onRunFolder = /\b(?:join|resolve)\(\s*(?:this\.run\.dir|run\.dir|runDir)\s*,/;
/** Rule 4: app/run's path readers imported as values (type-only imports name a return type, which is fine). */
const pathReaders = /^import \{[^}]*(?<!type )\b(?:TensorFile|readRunTensor|readRunTensor64|openRunFile)\b[^}]*\} from '[./]*run\//;

const violates = (line: string) => joinedName.test(line) || helperCall.test(line) || onRunFolder.test(line) || pathReaders.test(line);

describe('run folder ownership', () => {
  const outside = readdirSync(join(root, 'app'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .filter((f) => !f.startsWith(join('app', 'run') + '/') && !f.includes('/testing/'));

  it('finds the engine sources and the path helpers', () => {
    expect(outside.length).toBeGreaterThan(50);
    expect(helpers).toEqual(expect.arrayContaining(['runJsonPath', 'compressedPath', 'quantizedPath', 'adapterPath', 'spectraPath', 'decompositionsPath']));
  });

  it('no module outside app/run reads or writes a run file itself', () => {
    const bad = outside.flatMap((f) =>
      readFileSync(join(root, f), 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${f}:${i + 1}` }))
        .filter(({ line }) => !line.trimStart().startsWith('//') && violates(line))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(bad).toEqual([]);
  });

  it('the rules catch what they are for (lines of the engine before app/run owned every file)', () => {
    // Rule 1.
    expect(violates("const f = join(dir, 'run.json');")).toBe(true);
    expect(violates("TensorFile.open(run.path('compressed.safetensors'))")).toBe(true);
    expect(violates('const a = `adapters/${name}.safetensors`;')).toBe(true);
    // Rule 2: export/variant.ts and export/quant-state.ts opened adapters/ and quantized.safetensors this way.
    expect(violates("import { adapterPath as adapterFile, adapterVariants } from '../run/files/adapters.js';")).toBe(true);
    expect(violates('    const path = quantizedPath(runDir);')).toBe(true);
    expect(violates("  const adapterPath = variant.includes('/') ? '' : adapterFile(run.dir, variant);")).toBe(false); // the alias, caught at its import
    expect(violates('if (!existsSync(runJsonPath(dir)) && !existsSync(metricsJsonPath(dir))) {')).toBe(true);
    expect(violates('    if (quant.length > 0) writeQuantFile(quantizedPath(run.dir), quant);')).toBe(true);
    expect(violates('    const compressed = compressedPath(this.run.dir);')).toBe(true);
    // Rule 3.
    expect(violates('    if (entry !== RUN_JSON) rmSync(join(run.dir, entry), { recursive: true, force: true });')).toBe(true);
    // Rule 4.
    expect(violates("import { TensorFile } from '../run/safetensors-writer.js';")).toBe(true);
    expect(violates("import { readRunTensor } from '../run/files/tensors.js';")).toBe(true);
    // Allowed: names in messages, type-only imports, a file argument that is not a run's.
    expect(violates('throw new Error(`${runJsonPath(run.dir)}: made by the CLI stages`);')).toBe(false);
    expect(violates("import type { TensorFile, TensorToWrite } from '../../run/safetensors-writer.js';")).toBe(false);
    expect(violates("import { type TensorFile, writeSafetensors } from '../run/safetensors-writer.js';")).toBe(false);
    expect(violates("parseExperiment(value, 'run.json')")).toBe(false);
    expect(violates('const file = SafetensorsFile.open(join(model.path, name));')).toBe(false);
  });
});
