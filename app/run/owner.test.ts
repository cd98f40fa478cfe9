// app/run owns the run folder: every read and write of a run file goes through that file kind's
// module in app/run/files/ (its schema, its read/write pair). Outside app/run, a module may know
// a run file's path only to name it in a message. Four rules make that checkable on each
// module's syntax tree (the TypeScript parser's, so a call or an import split over lines, an
// alias or a re-export cannot slip past; comments are not code); a violation names the file
// and line:
//
//   1. no run file or folder name (`run.json`, `compressed.safetensors`, `adapters`, …) as a
//      quoted argument of a path join, nor a run-relative template path (`adapters/${…}`);
//   2. the path helpers of app/run/files (every exported `…Path`) and RunFolder#path are called
//      only as a template literal's `${…}` (a message) — never as an argument of a reader, a file
//      system call or a variable that one would get later, nor inside a template literal that a
//      call other than an Error's or a logger's takes; and they are imported or re-exported
//      under their own names (an alias would hide them from this rule);
//   3. no path joined onto a run folder (`join(run.dir, …)`, `join(runDir, …)`): the engine's
//      names for a run folder are `run.dir`, `this.run.dir` and `runDir`;
//   4. app/run's readers of a path (`TensorFile`, `readRunTensor`, `readRunTensor64`,
//      `openRunFile`) are not imported or re-exported as values, nor is app/run imported whole
//      (`import * as`): a module that opens a run's safetensors file by path is doing app/run's job.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../paths.js';

const root = packageRoot();
const RUN_NAMES = /^(?:(?:run|layers|metrics|samples|failed)\.json|run\.lock|(?:compressed|calibration|quantized|hidden)\.safetensors|spectra|decompositions|adapters|partial)$/;
const RUN_RELATIVE = /^(?:spectra|decompositions|adapters|partial)\//;
const JOINS = new Set(['join', 'resolve', 'path']);
const RUN_FOLDER = new Set(['run.dir', 'this.run.dir', 'runDir']);
const READERS = new Set(['TensorFile', 'readRunTensor', 'readRunTensor64', 'openRunFile']);

/** The path helpers app/run/files exports (`compressedPath`, `adapterPath`, …), found in its sources. */
const helpers = new Set(
  readdirSync(join(root, 'app', 'run', 'files'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .flatMap((f) => [...readFileSync(join(root, 'app', 'run', 'files', f), 'utf8').matchAll(/^export (?:const|function) (\w+Path)\b/gm)].map((m) => m[1])),
);

/** A callee's last name: `join` for `join(…)` and `path.join(…)`, `path` for `run.path(…)`. */
const calleeName = (e: ts.Expression) => (ts.isIdentifier(e) ? e.text : ts.isPropertyAccessExpression(e) ? e.name.text : '');

/** Callees whose string argument is a message: an Error's constructor, a logger or notice callback. */
const MESSAGE_TAKERS = /(?:Error|^log|^warn|^info|^debug|^on[A-Z]\w*|^emitWarning|^progress|^push)$/;

/**
 * Whether the template literal holding `span` is a message: kept, returned or passed on as text,
 * or given to an Error or a logger. As an argument of any other call (`existsSync(\`${compressedPath(dir)}\`)`)
 * it is the path itself, however it is spelled.
 */
function namedInMessage(span: ts.TemplateSpan): boolean {
  let text: ts.Node = span.parent;
  while (ts.isParenthesizedExpression(text.parent) || (ts.isBinaryExpression(text.parent) && text.parent.operatorToken.kind === ts.SyntaxKind.PlusToken)) text = text.parent;
  const user = text.parent;
  if (!(ts.isCallExpression(user) || ts.isNewExpression(user)) || !user.arguments?.some((a) => a === text)) return true;
  return MESSAGE_TAKERS.test(calleeName(user.expression));
}

/** The rule each node of `text` (module `file`, relative to the package root) breaks, as `file:line: rule`. */
function violations(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const flag = (node: ts.Node, rule: string) => found.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}: ${rule}: ${node.getText(source).replace(/\s+/g, ' ').slice(0, 120)}`);
  const intoRun = (specifier: ts.Expression) => ts.isStringLiteral(specifier) && specifier.text.startsWith('.') && relative(join(root, 'app', 'run'), join(root, dirname(file), specifier.text)).split(/[\\/]/)[0] !== '..';
  /** Rules 2 and 4 on the names of one import or export clause. */
  const names = (elements: readonly (ts.ImportSpecifier | ts.ExportSpecifier)[], clauseTypeOnly: boolean) => {
    for (const e of elements) {
      const imported = (e.propertyName ?? e.name).getText(source);
      if (helpers.has(imported) && e.propertyName && e.propertyName.getText(source) !== e.name.text) flag(e, 'rule 2 (a path helper under another name)');
      if (READERS.has(imported) && !clauseTypeOnly && !e.isTypeOnly) flag(e, 'rule 4 (a path reader of app/run as a value)');
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const callee = calleeName(node.expression);
      if (JOINS.has(callee)) {
        for (const arg of node.arguments) if ((ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg)) && RUN_NAMES.test(arg.text)) flag(node, 'rule 1 (a run file name joined into a path)');
        if (callee !== 'path' && node.arguments.length > 0 && RUN_FOLDER.has(node.arguments[0].getText(source))) flag(node, 'rule 3 (a path joined onto a run folder)');
      }
      const helperCall = helpers.has(callee) || (callee === 'path' && ts.isPropertyAccessExpression(node.expression) && /^(?:this\.)?run$/.test(node.expression.expression.getText(source)));
      if (helperCall && !(ts.isTemplateSpan(node.parent) && namedInMessage(node.parent))) flag(node, 'rule 2 (a path helper used as a path, not named in a message)');
    } else if (ts.isTemplateExpression(node) && RUN_RELATIVE.test(node.head.text)) {
      flag(node, 'rule 1 (a run-relative template path)');
    } else if (ts.isImportDeclaration(node) && intoRun(node.moduleSpecifier)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings) && !clause.isTypeOnly) flag(node, 'rule 4 (app/run imported whole)');
      if (bindings && ts.isNamedImports(bindings)) names(bindings.elements, clause.isTypeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && intoRun(node.moduleSpecifier)) {
      if (!node.exportClause && !node.isTypeOnly) flag(node, 'rule 4 (app/run re-exported whole)');
      if (node.exportClause && ts.isNamedExports(node.exportClause)) names(node.exportClause.elements, node.isTypeOnly);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** One snippet as a module of app/export (so `../run/…` is app/run). */
const snippet = (text: string) => violations('app/export/snippet.ts', text);
const violates = (text: string) => snippet(text).length > 0;

describe('run folder ownership', () => {
  const outside = readdirSync(join(root, 'app'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .filter((f) => !f.startsWith(join('app', 'run') + '/') && !f.includes('/testing/'));

  it('finds the engine sources and the path helpers', () => {
    expect(outside.length).toBeGreaterThan(50);
    expect([...helpers]).toEqual(expect.arrayContaining(['runJsonPath', 'compressedPath', 'quantizedPath', 'adapterPath', 'spectraPath', 'decompositionsPath']));
  });

  it('no module outside app/run reads or writes a run file itself', () => {
    expect(outside.flatMap((f) => violations(f, readFileSync(join(root, f), 'utf8')))).toEqual([]);
  });

  it('the rules catch what they are for (lines of the engine before app/run owned every file)', () => {
    // Rule 1.
    expect(violates("const f = join(dir, 'run.json');")).toBe(true);
    expect(violates("TensorFile.open(run.path('compressed.safetensors'))")).toBe(true);
    expect(violates('const a = `adapters/${name}.safetensors`;')).toBe(true);
    // Rule 2: export/variant.ts and export/quant-state.ts opened adapters/ and quantized.safetensors this way.
    expect(violates("import { adapterPath as adapterFile, adapterVariants } from '../run/files/adapters.js';")).toBe(true);
    expect(violates('    const path = quantizedPath(runDir);')).toBe(true);
    expect(violates('if (!existsSync(runJsonPath(dir)) && !existsSync(metricsJsonPath(dir))) {}')).toBe(true);
    expect(violates('    if (quant.length > 0) writeQuantFile(quantizedPath(run.dir), quant);')).toBe(true);
    expect(violates('    const compressed = compressedPath(this.run.dir);')).toBe(true);
    // Rule 3.
    expect(violates('    if (entry !== RUN_JSON) rmSync(join(run.dir, entry), { recursive: true, force: true });')).toBe(true);
    // Rule 4.
    expect(violates("import { TensorFile } from '../run/safetensors-writer.js';")).toBe(true);
    expect(violates("import { readRunTensor } from '../run/files/tensors.js';")).toBe(true);
    // Allowed: names in messages, type-only imports, a file argument that is not a run's, comments.
    expect(violates('throw new Error(`${runJsonPath(run.dir)}: made by the CLI stages`);')).toBe(false);
    expect(violates("import type { TensorFile, TensorToWrite } from '../run/safetensors-writer.js';")).toBe(false);
    expect(violates("import { type TensorFile, writeSafetensors } from '../run/safetensors-writer.js';")).toBe(false);
    expect(violates("parseExperiment(value, 'run.json')")).toBe(false);
    expect(violates('const file = SafetensorsFile.open(join(model.path, name));')).toBe(false);
    expect(violates("// const f = join(dir, 'run.json');")).toBe(false);
    expect(violates("import { TensorFile } from '../model/tensor-file.js';")).toBe(false); // not app/run's
  });

  it('what a line-by-line scan missed: calls and imports over several lines, aliases, re-exports', () => {
    expect(snippet("import {\n  adapterVariants,\n  TensorFile,\n} from '../run/safetensors-writer.js';")).toEqual(["app/export/snippet.ts:3: rule 4 (a path reader of app/run as a value): TensorFile"]);
    expect(snippet("const f = join(\n  run.dir,\n  'compressed.safetensors',\n);")).toHaveLength(2); // rules 1 and 3
    expect(violates("import {\n  adapterPath as file,\n} from '../run/files/adapters.js';")).toBe(true);
    expect(violates("export { TensorFile } from '../run/safetensors-writer.js';")).toBe(true);
    expect(violates("export { compressedPath as weightsFile } from '../run/files/compressed.js';")).toBe(true);
    expect(violates("export * from '../run/files/tensors.js';")).toBe(true);
    expect(violates("import * as tensors from '../run/files/tensors.js';")).toBe(true);
    expect(violates('const p = quantizedPath(\n  dir,\n);')).toBe(true);
    expect(violates('throw new RunError(`${\n  quantizedPath(dir)\n}: damaged`);')).toBe(false);
    // A template literal around a helper is still the path when a call other than an Error or a logger takes it.
    expect(snippet('if (existsSync(`${compressedPath(dir)}`)) {}')).toEqual(['app/export/snippet.ts:1: rule 2 (a path helper used as a path, not named in a message): compressedPath(dir)']);
    expect(violates('const w = readRunTensor64((`${quantizedPath(dir)}`), name);')).toBe(true);
    expect(violates('rmSync(`${adapterPath(dir, v)}` + \'\', { force: true });')).toBe(true);
    expect(violates('options.onLog?.(`${compressedPath(dir)}: removed`);')).toBe(false);
    expect(violates('log(`${compressedPath(dir)}: removed`);')).toBe(false);
    expect(violates('const message = `${compressedPath(dir)}: damaged`;')).toBe(false);
    expect(violates("export type { TensorFile } from '../run/safetensors-writer.js';")).toBe(false);
  });

  it('a planted violation among the real sources is found, naming its file and line', () => {
    const planted = { file: 'app/export/planted.ts', text: "// reads a run's W_c itself\nimport {\n  readRunTensor,\n} from '../run/files/tensors.js';\nexport const wc = (dir: string) => readRunTensor(join(dir, 'compressed.safetensors'), 'w');\n" };
    const sources = [...outside.map((f) => ({ file: f, text: readFileSync(join(root, f), 'utf8') })), planted];
    const found = sources.flatMap((s) => violations(s.file, s.text));
    expect(found.map((v) => v.split(': ')[0])).toEqual(['app/export/planted.ts:3', 'app/export/planted.ts:5']);
  });
});
