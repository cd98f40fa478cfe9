import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundledModelPath, resourcesPath } from '../model/open.js';
import { HfTokenizer } from '../tokenizer/hf.js';
import { buildCloze, CLOZE_DEFAULTS, clozeJsonl, paragraphs, sentences, type ClozeOptions } from './cloze.js';

describe('sentences', () => {
  it('splits at . ! ? (and a closing quote) before a capital or an opening quote', () => {
    expect(sentences('Tom ran. "Stop!" said Mom. He stopped? Yes... and then 3 cats came. "Hi," she said.')).toEqual([
      'Tom ran.',
      '"Stop!" said Mom.',
      'He stopped?',
      'Yes... and then 3 cats came.',
      '"Hi," she said.',
    ]);
  });

  it('cuts paragraphs at blank lines, dropping empty ones', () => {
    expect(paragraphs('a b.\n\nc d.\n  \n\n\ne f.\n')).toEqual(['a b.', 'c d.', 'e f.']);
  });
});

/** Synthetic paragraphs: paragraph p's sentences all carry the marker `P<p>`. */
function syntheticText(n: number): string {
  return Array.from({ length: n }, (_, p) => [0, 1, 2, 3].map((s) => `Story P${p} has sentence number S${s} here.`).join(' ')).join('\n\n');
}

describe('buildCloze', () => {
  const options: ClozeOptions = { ...CLOZE_DEFAULTS, count: 30, fromParagraph: 10, distance: 5 };
  const text = syntheticText(120);
  const records = buildCloze(text, options);

  it('builds k distinct choices whose gold is the true next sentence, distractors from paragraphs ≥ distance away', () => {
    expect(records).toHaveLength(30);
    for (const r of records) {
      const p = Number(r.id.slice(1)) - 1;
      expect(p).toBeGreaterThanOrEqual(options.fromParagraph);
      expect(r.choices).toHaveLength(options.k);
      expect(new Set(r.choices).size).toBe(options.k);
      const c = r.context.split(' Story ').length; // sentences in the context
      expect(r.context.startsWith(`Story P${p} has sentence number S0`)).toBe(true);
      expect(r.choices[r.gold]).toBe(` Story P${p} has sentence number S${c} here.`);
      r.choices.forEach((choice, i) => {
        if (i === r.gold) return;
        const q = Number(/P(\d+)/.exec(choice)![1]);
        expect(Math.abs(q - p)).toBeGreaterThanOrEqual(options.distance);
        expect(choice).not.toContain('S0 '); // never a paragraph's first sentence
      });
    }
  });

  it('is deterministic for a seed, differs for another, and spreads gold over the positions', () => {
    expect(buildCloze(text, options)).toEqual(records);
    expect(buildCloze(text, { ...options, seed: options.seed + 1 })).not.toEqual(records);
    const golds = new Set(records.map((r) => r.gold));
    expect(golds.size).toBe(options.k);
  });

  it('says when the text cannot supply the items', () => {
    expect(() => buildCloze(text, { ...options, count: 500 })).toThrow('cloze: only 110 paragraphs qualify, 500 items asked');
    expect(() => buildCloze(text, { ...options, fromParagraph: 200 })).toThrow("cloze: fromParagraph 200 is past the text's 120 paragraphs");
  });
});

describe('the bundled cloze task', () => {
  const source = readFileSync(resourcesPath('data', 'tinystories', 'validation.txt'), 'utf8');

  it('is exactly what the builder makes from validation.txt with the defaults (byte for byte)', () => {
    const file = readFileSync(resourcesPath('data', 'tasks', 'tinystories_cloze', 'test.jsonl'), 'utf8');
    expect(clozeJsonl(buildCloze(source, CLOZE_DEFAULTS)) === file).toBe(true);
    expect(file.split('\n').filter(Boolean)).toHaveLength(400);
  });

  it('uses only text after the first 20,000 tokens that perplexity scores', { timeout: 300_000 }, () => {
    const tokenizer = HfTokenizer.fromDirectory(bundledModelPath());
    const all = paragraphs(source);
    // The character where paragraph `fromParagraph` starts: exactly that many paragraphs precede it.
    const start = source.indexOf(all[CLOZE_DEFAULTS.fromParagraph]);
    expect(start).toBe(175_978);
    expect(paragraphs(source.slice(0, start))).toHaveLength(CLOZE_DEFAULTS.fromParagraph);
    // Perplexity tokenizes the whole text once (BOS first) and takes its first 20,000 tokens.
    // The text before paragraph 601 — half-way to `start` — already holds them, and a longer
    // text tokenizes those characters the same way, so they all come from before `start`.
    const cut = source.indexOf(all[600]);
    const prefix = tokenizer.encode(source.slice(0, cut));
    const longer = tokenizer.encode(source.slice(0, cut + 2000));
    expect(prefix.length).toBeGreaterThan(20_000);
    expect(longer.slice(0, 20_000)).toEqual(prefix.slice(0, 20_000));
    // (Measured once, in SOURCE.md: the 20,000th token falls in paragraph 482 of 2,152.)
  });
});
