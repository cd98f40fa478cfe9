// The run-file modules: reads distrust their input and name the file and the field; absent
// files read as empty; writes round-trip every key (also ones a newer version added); the
// tensor files round-trip their values exactly.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunFolder } from '../run.js';
import type { Adapter } from '../../compensate/adapter.js';
import { ModelError, type LinearInfo } from '../../model/types.js';
import { adapterPath, adapterRanks, adapterVariants, readAdapters, readVariantAdapters, writeAdapterFile } from './adapters.js';
import { openCalibration } from './calibration.js';
import { openBlockCheckpoint, readCheckpointHidden } from './partial.js';
import { TensorFile, writeSafetensors } from '../safetensors-writer.js';
import { isDamage, RunError } from '../errors.js';
import { readRunTensor64 } from './tensors.js';
import { assembleDecompositions, decompositionRanks, discardDecompositions, finishedDecompositions, finishedLinearDecomposition, readAllDecompositions, readDecomposition, writeLinearDecomposition } from './decompositions.js';
import { readFailureJson, writeFailureJson } from './failure-json.js';
import { readLayersJson } from './layers-json.js';
import { readMetricsJson } from './metrics-json.js';
import { readRunJson, writeRunJson, type RunManifest } from './run-json.js';
import { openCompressed, writeCompressed } from './compressed.js';
import { QuantStore, writeQuantized } from './quantized.js';
import { readSamplesJson } from './samples-json.js';
import { readSpectra, spectraLinears, spectraPath, writeSpectra } from './spectra.js';

const folder = () => mkdtempSync(join(tmpdir(), 'eora-files-'));

/** Seeded values in [-1, 1). */
function values(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 30) - 1);
}

function adapter(out: number, inDim: number, rank: number, seed: number): Adapter {
  return { A: { rows: rank, cols: inDim, data: Float64Array.from(values(rank * inDim, seed)) }, B: { rows: out, cols: rank, data: Float64Array.from(values(out * rank, seed + 1)) }, rank, split: 'B' };
}

describe('run-file JSON modules', () => {
  it('absent files read as nothing, not as errors', () => {
    const dir = folder();
    expect(readRunJson(dir)).toBeUndefined();
    expect(readLayersJson(dir)).toEqual([]);
    expect(readMetricsJson(dir)).toMatchObject({ format: 'eora-metrics', variants: {} });
    expect(readSamplesJson(dir)).toBeUndefined();
    expect(readFailureJson(dir)).toBeNull();
    expect(spectraLinears(dir)).toEqual(new Set());
  });

  it('malformed files give an error naming the file and the field', () => {
    const dir = folder();
    const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
    write('run.json', '{"format": "other", "model": {"path": "/m"}, "stages": {}}');
    expect(() => readRunJson(dir)).toThrow(`${join(dir, 'run.json')}: format: not an eora run (format "other")`);
    write('run.json', '{"format": "eora-run", "model": {"path": "/m"}, "stages": {"compress": {"status": "paused"}}}');
    expect(() => readRunJson(dir)).toThrow(`${join(dir, 'run.json')}: stages.compress.status: expected pending, running, stopped, failed or done`);
    write('run.json', '{not json');
    expect(() => readRunJson(dir)).toThrow(new RegExp(`^${join(dir, 'run.json')}: not valid JSON`));
    write('layers.json', '{"name": "x"}');
    expect(() => readLayersJson(dir)).toThrow(`${join(dir, 'layers.json')}: expected a list of linears`);
    write('layers.json', '[{"name": "a", "layer": 0, "kind": "q_proj", "out": 4, "in": "4", "rel_weight_error": 0.1, "rel_output_error": null}]');
    expect(() => readLayersJson(dir)).toThrow(`${join(dir, 'layers.json')}: [0].in: `);
    write('metrics.json', JSON.stringify({ format: 'eora-metrics', variants: { svd: { name: 'eora', ppl: {}, tasks: {} } } }));
    expect(() => readMetricsJson(dir)).toThrow(`${join(dir, 'metrics.json')}: variants.svd.name: expected "svd", got "eora"`);
    write('metrics.json', JSON.stringify({ format: 'eora-metrics', variants: { a: { name: 'a', ppl: { t: { nll: 1 } }, tasks: {} } } }));
    expect(() => readMetricsJson(dir)).toThrow(`${join(dir, 'metrics.json')}: variants.a.ppl.t.ppl: `);
    write('samples.json', '{"prompts": "Once", "max_new_tokens": 4, "variants": {}}');
    expect(() => readSamplesJson(dir)).toThrow(`${join(dir, 'samples.json')}: prompts: `);
    mkdirSync(join(dir, 'spectra'));
    writeFileSync(spectraPath(dir, 'l'), '{"c_trace": 1}');
    expect(() => readSpectra(dir, 'l')).toThrow(`${spectraPath(dir, 'l')}: c_eigenvalues: expected a list of numbers`);
    expect(() => readSpectra(dir, 'nothing')).toThrow(`${spectraPath(dir, 'nothing')}: no such file`);
    writeFileSync(spectraPath(dir, 'l'), '{"c_eigenvalues": [1], "c_trace": 1, "methods": {}, "name": "l", "out": 2}');
    expect(() => readSpectra(dir, 'l')).toThrow(`${spectraPath(dir, 'l')}: in: `);
    writeFileSync(spectraPath(dir, 'l'), '{"c_eigenvalues": [1], "c_trace": 1, "methods": {}, "name": "k", "out": 2, "in": 2}');
    expect(() => readSpectra(dir, 'l')).toThrow(`${spectraPath(dir, 'l')}: name: expected "l", got "k"`);
    // A NaN written as null reads back as NaN, never as 0.
    writeFileSync(spectraPath(dir, 'l'), '{"c_eigenvalues": [1, null], "c_trace": 1, "methods": {"svd": {"singular_values": [null], "rel_output_error": [1, null]}}, "name": "l", "out": 2, "in": 2}');
    const read = readSpectra(dir, 'l');
    expect(read.c_eigenvalues).toEqual([1, NaN]);
    expect(read.methods.svd.rel_output_error).toEqual([1, NaN]);
    // The runs list must not crash on a broken failure record: the problem becomes the error.
    write('failed.json', '[1]');
    expect(readFailureJson(dir)?.error).toBe(`${join(dir, 'failed.json')}: not a failure record`);
  });

  it('names that could leave the run folder are refused', () => {
    expect(() => spectraPath('/r', '../x')).toThrow('../x: not a linear name');
    expect(() => adapterPath('/r', 'a/b')).toThrow('a/b: not a variant name');
  });

  it('run.json, spectra and failed.json round-trip every key, unknown ones included', () => {
    const dir = folder();
    const manifest = { format: 'eora-run', format_version: 1, workbench_version: '0', created: 'now', model: { path: '/m', format: 'huggingface', fingerprint: 'f' }, device: 'cpu', config: { method: 'gptq:w3g32' }, records: { x: [1, 2] }, stages: { compress: { status: 'done', layers_done: 2, future_field: true } }, added_later: { y: 1 } };
    writeRunJson(dir, manifest as unknown as RunManifest);
    expect(readRunJson(dir)).toEqual(manifest);
    const spectra = { name: 'model.layers.0.mlp.down_proj', out: 2, in: 3, r_max: 2, c_eigenvalues: [3, 2, 1], c_trace: 6, c_precision: 0, methods: { eora: { singular_values: [1, 0.5], rel_output_error: [1, 0.2, 0], rel_frobenius_error: [1, 0.3, 0] } } };
    writeSpectra(dir, spectra);
    expect(readSpectra(dir, spectra.name)).toEqual(spectra);
    expect(spectraLinears(dir)).toEqual(new Set([spectra.name]));
    writeFailureJson(join(dir, 'sub'), { error: 'boom', at: 't', model: null, method: 'rtn:w4g32' });
    expect(readFailureJson(join(dir, 'sub'))).toEqual({ error: 'boom', at: 't', model: null, method: 'rtn:w4g32' });
  });
});

describe('run-file tensor modules', () => {
  const linears: LinearInfo[] = [
    { name: 'model.layers.0.self_attn.q_proj', layer: 0, kind: 'q_proj', out: 6, in: 4 },
    { name: 'model.layers.0.mlp.down_proj', layer: 0, kind: 'down_proj', out: 4, in: 5 },
  ];

  it('decompositions: per-linear partial files assemble into one file per method, read back exactly', () => {
    const dir = folder();
    const made = new Map(linears.map((l, i) => [l.name, new Map([['eora', adapter(l.out, l.in, 3, 10 * i)], ['svd', adapter(l.out, l.in, 3, 10 * i + 5)]])]));
    const curve = Float64Array.of(1, 0.5, 0.25, 0);
    for (const l of linears) writeLinearDecomposition(dir, l, new Map([...made.get(l.name)!].map(([m, adapter]) => [m, { adapter, curve }])), 'B', 'k');
    // A partial file another compensate (another key) wrote is never assembled under this one's key.
    expect(() => assembleDecompositions(dir, linears.map((l) => l.name), ['eora', 'svd'], 'B', 'other')).toThrow(`${join(dir, 'decompositions', 'partial', `${linears[0].name}.safetensors`)}: made under another configuration`);
    assembleDecompositions(dir, linears.map((l) => l.name), ['eora', 'svd'], 'B', 'k');
    expect(existsSync(join(dir, 'decompositions', 'partial'))).toBe(false);
    for (const l of linears) {
      for (const method of ['eora', 'svd']) {
        const back = readDecomposition(dir, method, l);
        const want = made.get(l.name)!.get(method)!;
        expect([back.rank, Array.from(back.A.data), Array.from(back.B.data), back.split]).toEqual([want.rank, Array.from(want.A.data), Array.from(want.B.data), 'B']);
      }
    }
    expect([...readAllDecompositions(dir, 'svd').keys()]).toEqual(linears.map((l) => l.name));
    expect(() => readAllDecompositions(dir, 'scaled-svd')).toThrow(/no scaled-svd decompositions/);
    // A rerun under the same key finds them whole; another key, another method or another linear's shape does not.
    expect(finishedDecompositions(dir, ['svd', 'eora'], linears, 'k')).toEqual(new Map(linears.map((l) => [l.name, 3])));
    expect(finishedDecompositions(dir, ['svd'], linears, 'other')).toBeNull();
    expect(finishedDecompositions(dir, ['eora', 'scaled-svd'], linears, 'k')).toBeNull();
    const said: string[] = [];
    expect(finishedDecompositions(dir, ['eora'], [{ ...linears[0], out: 7 }], 'k', (m) => said.push(m))).toBeNull();
    expect(said).toEqual([`decompositions/eora.safetensors: discarded (${linears[0].name}'s factors are [3, 4] and [6, 3], not [r, 4] and [7, r]); every linear is decomposed again`]);
    const path = join(dir, 'decompositions', 'svd.safetensors');
    const factorName = `${linears[0].name}.lora_A.weight`;
    truncateSync(path, statSync(path).size - 8);
    said.length = 0;
    expect(finishedDecompositions(dir, ['eora', 'svd'], linears, 'k', (m) => said.push(m))).toBeNull();
    expect(said).toEqual([expect.stringMatching(/^decompositions\/svd\.safetensors: discarded \(.+the file may be truncated\); every linear is decomposed again$/)]);
    // Ranks that differ between methods: said, naming the linear.
    const [l] = linears;
    const factors = (rank: number) => {
      const a = adapter(l.out, l.in, rank, 0);
      return [{ name: `${l.name}.lora_A.weight`, dtype: 'F64' as const, shape: [rank, l.in], data: a.A.data }, { name: `${l.name}.lora_B.weight`, dtype: 'F64' as const, shape: [l.out, rank], data: a.B.data }];
    };
    writeSafetensors(path, factors(2), { method: 'svd', split: 'B', key: 'k' });
    said.length = 0;
    expect(finishedDecompositions(dir, ['eora', 'svd'], [l], 'k', (m) => said.push(m))).toBeNull();
    expect(said).toEqual([`decompositions/svd.safetensors: discarded (${l.name} has rank 2 here and 3 in eora's); every linear is decomposed again`]);
    // A Σ split the readers do not know names the file and the field.
    writeSafetensors(path, [{ name: factorName, dtype: 'F64', shape: [1, linears[0].in], data: new Float64Array(linears[0].in) }], { split: 'C' });
    expect(() => decompositionRanks(dir, 'svd')).toThrow(`${path}: __metadata__.split: expected B, A or sqrt, got "C"`);
    discardDecompositions(dir);
    expect(readdirSync(join(dir, 'decompositions'))).toEqual([]);
  });

  it('decompositions: a whole partial file made under the same key is reused; a cut, misshapen, foreign or NaN one is discarded and said why', () => {
    const dir = folder();
    const [l] = linears;
    const curve = Float64Array.of(1, 0.5, 0.25, 0.125);
    const write = (key: string, methods = ['eora', 'svd']) => writeLinearDecomposition(dir, l, new Map(methods.map((m, i) => [m, { adapter: adapter(l.out, l.in, 3, i), curve }])), 'B', key);
    const partial = () => readdirSync(join(dir, 'decompositions', 'partial'));
    const told: string[] = [];
    const finished = (linear: LinearInfo, methods: string[], key: string) => finishedLinearDecomposition(dir, linear, methods, key, (m) => told.push(m));
    const file = `decompositions/partial/${l.name}.safetensors`;
    const discarded = (why: string) => `${file}: discarded (${why}); ${l.name} is decomposed again`;
    expect(finished(l, ['eora'], 'k')).toBeNull(); // never written: nothing to say
    write('k');
    const done = finished(l, ['eora', 'svd'], 'k')!;
    expect([done.rMax, [...done.curves.keys()], Array.from(done.curves.get('svd')!)]).toEqual([3, ['eora', 'svd'], Array.from(curve)]);
    expect(partial()).toEqual([`${l.name}.safetensors`]);
    expect(told).toEqual([]);
    // Another configuration (other methods, r_max, split or device): decomposed again.
    expect(finished(l, ['eora'], 'other')).toBeNull();
    expect(partial()).toEqual([]);
    // A method the file lacks.
    write('k', ['eora']);
    expect(finished(l, ['eora', 'scaled-svd'], 'k')).toBeNull();
    expect(partial()).toEqual([]);
    // Cut short: the header still parses, the last tensor lies beyond the end.
    write('k');
    const path = join(dir, 'decompositions', 'partial', `${l.name}.safetensors`);
    truncateSync(path, statSync(path).size - 8);
    expect(finished(l, ['eora', 'svd'], 'k')).toBeNull();
    // Not a safetensors file at all.
    writeFileSync(path, 'garbage');
    expect(finished(l, ['eora', 'svd'], 'k')).toBeNull();
    expect(partial()).toEqual([]);
    // Shapes of another linear under the same name.
    write('k');
    expect(finished({ ...l, in: l.in + 1 }, ['eora', 'svd'], 'k')).toBeNull();
    expect(partial()).toEqual([]);
    // A NaN in a stored curve (a file from before writes refused them): damaged, this linear only.
    const a = adapter(l.out, l.in, 3, 0);
    writeSafetensors(path, [
      { name: 'eora.lora_A.weight', dtype: 'F64', shape: [3, l.in], data: a.A.data },
      { name: 'eora.lora_B.weight', dtype: 'F64', shape: [l.out, 3], data: a.B.data },
      { name: 'eora.curve', dtype: 'F64', shape: [4], data: Float64Array.of(1, 0.5, NaN, 0) },
    ], { split: 'B', key: 'k' });
    expect(finished(l, ['eora'], 'k')).toBeNull();
    expect(partial()).toEqual([]);
    expect(told).toEqual([
      discarded('made under another configuration'),
      discarded('has no tensor named "scaled-svd.lora_A.weight"'),
      discarded('tensor "svd.curve" has data_offsets [512, 544] beyond the data section (536 bytes); the file may be truncated'),
      discarded('expected 8 bytes at offset 0 but the file has only 7 bytes; the file may be truncated'),
      discarded(`eora's factors do not fit [${l.out}, ${l.in + 1}]`),
      discarded("eora's err(r) curve holds NaN at r = 2"),
    ]);
  });

  it('damage (a cut, misshapen or foreign file) is told apart from an I/O failure (EMFILE, EACCES, EIO), which never discards a file', () => {
    const dir = folder();
    const path = join(dir, 'cut.safetensors');
    writeSafetensors(path, [{ name: 'x', dtype: 'F64', shape: [4], data: new Float64Array(4) }], {});
    truncateSync(path, statSync(path).size - 8);
    const failure = (work: () => unknown) => {
      try {
        work();
      } catch (error) {
        return error;
      }
      throw new Error('expected a failure');
    };
    expect(isDamage(failure(() => readRunTensor64(path, 'x')))).toBe(true);
    expect(isDamage(failure(() => readRunTensor64(path, 'y')))).toBe(true); // no such tensor
    expect(isDamage(new RunError('made under another configuration'))).toBe(true);
    const unopenable = failure(() => TensorFile.open(join(dir, 'gone.safetensors'))); // an open failing like EMFILE/EACCES would
    expect(unopenable).toBeInstanceOf(ModelError);
    expect(isDamage(unopenable)).toBe(false);
    expect(isDamage(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }))).toBe(false);
  });

  it('decompositions: a NaN or Inf made by a decomposition is an error naming the linear, and nothing is written', () => {
    const dir = folder();
    const [l] = linears;
    const good = adapter(l.out, l.in, 3, 1);
    const nanCurve = new Map([['eora', { adapter: good, curve: Float64Array.of(1, NaN, 0.2, 0.1) }]]);
    expect(() => writeLinearDecomposition(dir, l, nanCurve, 'B', 'k')).toThrow(`${l.name}: its decomposition is not finite (eora's err(r) curve holds NaN at r = 1); nothing of it was written`);
    const infFactor = adapter(l.out, l.in, 3, 1);
    infFactor.B.data[5] = -Infinity;
    expect(() => writeLinearDecomposition(dir, l, new Map([['svd', { adapter: infFactor, curve: Float64Array.of(1, 0.5, 0.2, 0.1) }]]), 'B', 'k')).toThrow("(svd's lora_B holds -Infinity at index 5)");
    expect(existsSync(join(dir, 'decompositions', 'partial', `${l.name}.safetensors`))).toBe(false);
  });

  it('decompositions: a linear decomposed again alone is assembled with the others kept from the file it replaces', () => {
    const dir = folder();
    const names = linears.map((l) => l.name);
    const curve = Float64Array.of(1, 0.5, 0.25, 0);
    const write = (l: LinearInfo, seed: number) => writeLinearDecomposition(dir, l, new Map([['eora', { adapter: adapter(l.out, l.in, 3, seed), curve }]]), 'B', 'k');
    for (const [i, l] of linears.entries()) write(l, 10 * i);
    assembleDecompositions(dir, names, ['eora'], 'B', 'k');
    write(linears[1], 99); // redone (its stored spectra were damaged)
    assembleDecompositions(dir, names, ['eora'], 'B', 'k');
    const back = readAllDecompositions(dir, 'eora');
    expect(Array.from(back.get(names[0])!.A.data)).toEqual(Array.from(adapter(linears[0].out, linears[0].in, 3, 0).A.data));
    expect(Array.from(back.get(names[1])!.B.data)).toEqual(Array.from(adapter(linears[1].out, linears[1].in, 3, 99).B.data));
    expect(existsSync(join(dir, 'decompositions', 'partial'))).toBe(false);
    // Nothing to keep from: the missing partial file is named.
    discardDecompositions(dir);
    write(linears[0], 0);
    expect(() => assembleDecompositions(dir, names, ['eora'], 'B', 'k')).toThrow(`${join(dir, 'decompositions', 'partial', `${names[1]}.safetensors`)}: missing`);
  });

  it("a dead writer's temp file in decompositions/partial is removed when a run resumes; a live one's stays", () => {
    const dir = folder();
    writeRunJson(dir, { format: 'eora-run', model: { path: '/m' }, stages: {}, config: {}, records: {} } as unknown as RunManifest);
    const partial = join(dir, 'decompositions', 'partial');
    mkdirSync(partial, { recursive: true });
    const dead = 4_194_305; // above Linux's largest pid_max (2^22) and macOS's 99,999: no process has it
    writeFileSync(join(partial, `l.safetensors.tmp-${dead}-0`), 'cut short');
    writeFileSync(join(partial, `l.safetensors.tmp-${process.pid}-0`), 'being written');
    const said: string[] = [];
    RunFolder.open(dir).removeStaleTemps((m) => said.push(m));
    expect(readdirSync(partial)).toEqual([`l.safetensors.tmp-${process.pid}-0`]);
    expect(said).toEqual([`decompositions/partial/l.safetensors.tmp-${dead}-0: removed (a write cut short: its writer, pid ${dead}, is gone)`]);
  });

  it('quantized: codes U8 and g_idx I32 round-trip exactly; a malformed qconfig names the file and the tensor', () => {
    const dir = folder();
    const tensors = (config: number[]) => [
      { name: 'l.qcodes', dtype: 'F32' as const, shape: [2, 4], data: Float32Array.of(0, 1, 2, 15, 7, 8, 9, 3) },
      { name: 'l.qscales', dtype: 'F32' as const, shape: [2, 2], data: Float32Array.of(0.5, 0.25, 1, 2) },
      { name: 'l.qzeros', dtype: 'F32' as const, shape: [2, 2], data: Float32Array.of(8, 7, 8, 9) },
      { name: 'l.qconfig', dtype: 'F32' as const, shape: [3], data: Float32Array.from(config) },
      { name: 'l.g_idx', dtype: 'F32' as const, shape: [4], data: Float32Array.of(1, 0, 1, 0) },
    ];
    expect(QuantStore.open(dir)).toBeNull(); // not quantized
    writeCompressed(dir, [{ name: 'l.weight', dtype: 'F32', shape: [2, 4], data: new Float32Array(8) }], 'test');
    writeQuantized(dir, tensors([4, 2, 0]));
    const store = QuantStore.open(dir)!;
    const state = store.get('l');
    store.close();
    expect([state.bits, state.groupSize, state.sym, Array.from(state.codes), Array.from(state.gIdx!), Array.from(state.zeros)]).toEqual([4, 2, false, [0, 1, 2, 15, 7, 8, 9, 3], [1, 0, 1, 0], [8, 7, 8, 9]]);
    expect([state.codes instanceof Uint8Array, state.gIdx instanceof Int32Array]).toEqual([true, true]);
    writeQuantized(dir, tensors([4, 2, 0.5]));
    expect(() => QuantStore.open(dir)).toThrow(`${join(dir, 'quantized.safetensors')}: l.qconfig: expected [bits 2–8, group size (−1 or positive), sym 0|1], got [4, 2, 0.5]`);
  });

  it('quantized: a hand-damaged store fails when opened (or its codes read), naming the file and the tensor', () => {
    const dir = folder();
    const path = join(dir, 'quantized.safetensors');
    writeCompressed(dir, [{ name: 'l.weight', dtype: 'F32', shape: [2, 4], data: new Float32Array(8) }], 'test');
    const t = (name: string, shape: number[], data: number[], dtype: 'F32' | 'F64' = 'F32') => ({ name, dtype, shape, data: dtype === 'F32' ? Float32Array.from(data) : Float64Array.from(data) });
    const whole = () => [
      t('l.qcodes', [2, 4], [0, 1, 2, 15, 7, 8, 9, 3]),
      t('l.qscales', [2, 2], [0.5, 0.25, 1, 2]),
      t('l.qzeros', [2, 2], [8, 7, 8, 9]),
      t('l.qconfig', [3], [4, 2, 0]),
      t('l.g_idx', [4], [1, 0, 1, 0]),
    ];
    const opened = (tensors: ReturnType<typeof whole>, raw = false) => {
      if (raw) writeSafetensors(path, tensors, { content: 'hand-made' });
      else writeQuantized(dir, tensors);
      return () => QuantStore.open(dir)!.get('l');
    };
    expect(opened(whole())().codes).toEqual(Uint8Array.of(0, 1, 2, 15, 7, 8, 9, 3));
    const replaced = (name: string, by: ReturnType<typeof t>) => whole().map((x) => (x.name === name ? by : x));
    expect(opened(replaced('l.qscales', t('l.qscales', [2, 1], [1, 1])))).toThrow(`${path}: l.qscales: shape [2, 1], expected [2, 2] (l is [2, 4], group size 2)`);
    expect(opened(replaced('l.qcodes', t('l.qcodes', [4, 2], [0, 1, 2, 3, 4, 5, 6, 7])))).toThrow(`${path}: l.qcodes: shape [4, 2], expected [2, 4]`);
    expect(opened(replaced('l.g_idx', t('l.g_idx', [3], [0, 1, 0])))).toThrow(`${path}: l.g_idx: shape [3], expected [4]`);
    expect(opened(replaced('l.qzeros', t('l.qzeros', [2, 2], [8, 7, 8, 9], 'F64')), true)).toThrow(`${path}: l.qzeros: dtype F64, expected F32`);
    expect(opened(whole().filter((x) => x.name !== 'l.qzeros'))).toThrow(`${path}: l.qzeros: missing`);
    expect(opened([...whole(), t('m.qcodes', [1], [0])])).toThrow(`${path}: m.qcodes: belongs to no linear with a qconfig`);
    expect(opened(whole().map((x) => ({ ...x, name: x.name.replace(/^l\./, 'k.') })))).toThrow(`${path}: k.qconfig: no linear k in compressed.safetensors to hold codes for`);
    // Values: a code beyond the bit width, a group index beyond the groups (both F32 here, as a checkpoint stores them).
    expect(opened(replaced('l.qcodes', t('l.qcodes', [2, 4], [0, 1, 2, 16, 7, 8, 9, 3])), true)).toThrow(`${path}: l.qcodes: value 16 at index 3 is outside 0…15 (4-bit codes)`);
    expect(opened(replaced('l.g_idx', t('l.g_idx', [4], [1, 0, 2, 0])), true)).toThrow(`${path}: l.g_idx: value 2 at index 2 is outside 0…1 (groups)`);
    // Every one a RunError (a damaged run folder), also when the safetensors reader finds the file cut or not a safetensors file.
    expect(opened(whole().filter((x) => x.name !== 'l.qzeros'))).toThrow(RunError);
    writeFileSync(path, 'garbage');
    expect(() => QuantStore.open(dir)).toThrow(RunError);
    expect(() => QuantStore.open(dir)).toThrow(new RegExp(`^${path}: expected 8 bytes at offset 0 but the file has only 7 bytes`));
    writeQuantized(dir, whole());
    truncateSync(path, statSync(path).size - 8);
    expect(() => QuantStore.open(dir)).toThrow(RunError);
  });

  it('every tensor file kind checks its __metadata__ with its schema, naming the file and the field; writes are checked too', () => {
    const dir = folder();
    const one = (name: string, dtype: 'F32' | 'F64' = 'F32') => [{ name, dtype, shape: [1, 1], data: dtype === 'F32' ? Float32Array.of(1) : Float64Array.of(1) }];
    writeSafetensors(join(dir, 'compressed.safetensors'), one('l.weight'), { format: 'np', source: 'rtn' });
    expect(() => openCompressed(dir)).toThrow(`${join(dir, 'compressed.safetensors')}: __metadata__.format: expected "pt"`);
    writeSafetensors(join(dir, 'calibration.safetensors'), one('model.layers.0.attn_in', 'F64'), { 'model.layers.0.attn_in.tokens': 'many' });
    expect(() => openCalibration(dir)).toThrow(`${join(dir, 'calibration.safetensors')}: __metadata__.model.layers.0.attn_in.tokens: expected a token count, got "many"`);
    mkdirSync(join(dir, 'partial'));
    writeSafetensors(join(dir, 'partial', 'layer-0000.safetensors'), one('l.weight'), { 'model.layers.0.o_in.tokens': '-3' });
    expect(() => openBlockCheckpoint(dir, 0)).toThrow(`${join(dir, 'partial', 'layer-0000.safetensors')}: __metadata__.model.layers.0.o_in.tokens: expected a token count, got "-3"`);
    writeSafetensors(join(dir, 'partial', 'hidden.safetensors'), one('hidden'), {});
    expect(() => readCheckpointHidden(dir, 1)).toThrow(`${join(dir, 'partial', 'hidden.safetensors')}: __metadata__.next_layer: expected a whole number`);
    // A partial decomposition without its key is damaged (discarded, said why); an adapter with unknown bits is refused.
    const [l] = linears;
    mkdirSync(join(dir, 'decompositions', 'partial'), { recursive: true });
    writeSafetensors(join(dir, 'decompositions', 'partial', `${l.name}.safetensors`), one('eora.curve', 'F64'), { split: 'B' });
    const told: string[] = [];
    expect(finishedLinearDecomposition(dir, l, ['eora'], 'k', (m) => told.push(m))).toBeNull();
    expect(told).toEqual([`decompositions/partial/${l.name}.safetensors: discarded (__metadata__.key: expected the key it was made under); ${l.name} is decomposed again`]);
    const a = adapter(l.out, l.in, 2, 0);
    const write = (metadata: Record<string, string>) => writeAdapterFile(dir, 'eora-r2', [l], () => a, () => 2, metadata);
    expect(() => write({ method: 'eora', rank: 'two' })).toThrow(`${adapterPath(dir, 'eora-r2')}: __metadata__.rank: expected a whole number`);
    expect(existsSync(adapterPath(dir, 'eora-r2'))).toBe(false); // checked before anything is written
    expect(() => write({ method: 'eora', ranks: '{"a": -1}' })).toThrow('__metadata__.ranks: expected a JSON object of linear → rank');
    write({ method: 'eora', rank: '2', split: 'B', bits: '32' });
    expect(readVariantAdapters(dir, 'eora-r2', [l]).metadata).toEqual({ method: 'eora', rank: '2', split: 'B', bits: '32' });
    writeSafetensors(adapterPath(dir, 'eora-r2'), [...one(`${l.name}.lora_A.weight`), ...one(`${l.name}.lora_B.weight`)], { method: 'eora', bits: '16' });
    expect(() => adapterRanks(dir, 'eora-r2')).toThrow(`${adapterPath(dir, 'eora-r2')}: __metadata__.bits: expected 4, 8 or 32`);
  });

  it('adapters: ranks per linear (0 allowed) and float32 factors', () => {
    const dir = folder();
    const adapters = new Map(linears.map((l, i) => [l.name, adapter(l.out, l.in, i === 0 ? 2 : 0, i)]));
    writeAdapterFile(dir, 'eora-budget-20', linears, (l) => adapters.get(l.name)!, (l) => adapters.get(l.name)!.rank, { method: 'eora', split: 'B' });
    expect(adapterVariants(dir)).toEqual(['eora-budget-20']);
    expect(adapterRanks(dir, 'eora-budget-20')).toEqual(new Map([[linears[0].name, 2], [linears[1].name, 0]]));
    const back = readAdapters(dir, 'eora-budget-20', linears[0].name);
    expect([...back.keys()]).toEqual([linears[0].name]);
    expect(Array.from(back.get(linears[0].name)!.A.data)).toEqual(Array.from(Float32Array.from(adapters.get(linears[0].name)!.A.data)));
    expect(() => readAdapters(dir, 'svd-r8')).toThrow(`${adapterPath(dir, 'svd-r8')}: missing`);
  });
});
