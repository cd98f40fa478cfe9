import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel, resourcesPath } from '../model/open.js';
import type { Model } from '../model/types.js';
import { calibrationSet, drawWindows, readDocuments } from './data.js';

const dir = mkdtempSync(join(tmpdir(), 'eora-calib-'));
let model: Model;
beforeAll(async () => {
  model = await openModel();
});
afterAll(() => model.close());

describe('calibration samples', () => {
  const file = resourcesPath('data', 'tinystories', 'calibration.txt');

  it('are deterministic by seed, recorded, and cut from the concatenated token stream', () => {
    const a = calibrationSet(file, model.tokenizer, { samples: 8, seqLen: 32, seed: 7 });
    const b = calibrationSet(file, model.tokenizer, { samples: 8, seqLen: 32, seed: 7 });
    const c = calibrationSet(file, model.tokenizer, { samples: 8, seqLen: 32, seed: 8 });
    expect(a.starts).toEqual(b.starts);
    expect(a.tokens).toEqual(b.tokens);
    expect(c.starts).not.toEqual(a.starts);
    expect(a.starts).toEqual(drawWindows(a.streamTokens, 8, 32, 7));
    expect(a.tokens.length).toBe(8 * 32);
    // Window k is the stream slice at its recorded start: rebuild the stream and compare.
    const stream = readDocuments(file, readFileSync(file, 'utf8')).flatMap((d) => model.tokenizer.encode(d, { addBos: true }));
    expect(stream.length).toBe(a.streamTokens);
    a.starts.forEach((s, k) => expect(Array.from(a.tokens.subarray(k * 32, k * 32 + 32))).toEqual(stream.slice(s, s + 32)));
    expect(a.documents).toBeGreaterThan(100);
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    for (const s of a.starts) expect(s).toBeLessThanOrEqual(a.streamTokens - 32);
  });

  it('reads JSONL by the text field or a template over fields', () => {
    const jsonl = join(dir, 'arc.jsonl');
    writeFileSync(jsonl, ['{"question": "What is red?", "answer": "A rose", "text": "t1"}', '', '{"question": "Who sings?", "answer": "A bird", "text": "t2"}'].join('\n'));
    expect(readDocuments(jsonl, readFileSync(jsonl, 'utf8'))).toEqual(['t1', 't2']);
    expect(readDocuments(jsonl, readFileSync(jsonl, 'utf8'), 'Q: {question} A: {answer}')).toEqual(['Q: What is red? A: A rose', 'Q: Who sings? A: A bird']);
    const set = calibrationSet(jsonl, model.tokenizer, { samples: 2, seqLen: 4, seed: 0, template: 'Q: {question} A: {answer}' });
    expect(set.format).toBe('jsonl');
    expect(set.template).toBe('Q: {question} A: {answer}');
    expect(() => readDocuments(jsonl, '{"q": 1}\n', '{missing}')).toThrow(/arc\.jsonl: line 1 has no field "missing"/);
    expect(() => readDocuments(jsonl, 'not json\n')).toThrow(/arc\.jsonl: line 1 is not JSON/);
  });

  it('says which file is empty or too short', () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '\n\n  \n');
    expect(() => calibrationSet(empty, model.tokenizer, { samples: 4, seqLen: 16, seed: 0 })).toThrow(`${empty}: the calibration file is empty`);
    const short = join(dir, 'short.txt');
    writeFileSync(short, 'Once upon a time.');
    expect(() => calibrationSet(short, model.tokenizer, { samples: 4, seqLen: 128, seed: 0 })).toThrow(new RegExp(`short\\.txt: the calibration text has \\d+ tokens, fewer than one window of --seq-len 128`));
    expect(() => calibrationSet(join(dir, 'missing.txt'), model.tokenizer, { samples: 4, seqLen: 16, seed: 0 })).toThrow(/missing\.txt/);
  });
});
