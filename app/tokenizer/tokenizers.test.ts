import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { resourcesPath } from '../model/open.js';
import { byteLevelTokenizerJson, TINY_DIR, TOK512 } from '../model/testing/fixtures.js';
import { HfTokenizer } from './hf.js';
import { Llama2cTokenizer } from './llama2c.js';

const stories = readFileSync(resourcesPath('data', 'tinystories', 'validation.txt'), 'utf8').split('\n\n').slice(0, 200);

describe('TinyStories-656K tokenizer.json (BPE, no pre-tokenizer, byte fallback without byte tokens)', () => {
  const tokenizer = HfTokenizer.fromDirectory(TINY_DIR);
  const json = JSON.parse(readFileSync(join(TINY_DIR, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number>; merges: string[] } };
  const vocab = new Map(Object.entries(json.model.vocab));
  const ranks = new Map(json.model.merges.map((merge, rank) => [merge, rank]));

  /**
   * The BPE of the Rust tokenizers crate, written out plainly: normalize (prepend ▁, spaces
   * to ▁), one symbol per character (runs of unknown characters fuse into one <unk>: the
   * vocab has no <0xXX> tokens to fall back to), then merge the lowest-ranked pair, leftmost first.
   */
  function referenceEncode(text: string): number[] {
    const symbols: string[] = [];
    for (const char of '▁' + text.replaceAll(' ', '▁')) {
      if (vocab.has(char)) symbols.push(char);
      else if (symbols.at(-1) !== '<unk>') symbols.push('<unk>');
    }
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) [best, bestRank] = [i, rank];
      }
      if (best < 0) return symbols.map((s) => vocab.get(s)!);
      symbols.splice(best, 2, symbols[best] + symbols[best + 1]);
    }
  }

  test('known ids, BOS and EOS', () => {
    expect([tokenizer.vocabSize, tokenizer.bosId, tokenizer.eosId, tokenizer.addsBos]).toEqual([2048, 1, 2, true]);
    // "▁Once▁upon▁a▁time": this vocab merges across words.
    expect(tokenizer.encode('Once upon a time')).toEqual([1, 80, 147, 201, 282, 57]);
    expect(['▁', 'On', 'ce▁', 'upon▁a▁tim', 'e'].map((t) => vocab.get(t))).toEqual([80, 147, 201, 282, 57]);
    expect(tokenizer.encode('Once upon a time', { addBos: false })).toEqual([80, 147, 201, 282, 57]);
    expect(tokenizer.encode('')).toEqual([1]);
    expect(tokenizer.tokenText(1)).toBe('<|start_story|>');
    expect(tokenizer.tokenText(282)).toBe('upon▁a▁tim');
    expect(() => tokenizer.tokenText(2048)).toThrow('token id 2048 is not in the vocabulary (0..2047)');
    expect(tokenizer.decode([1, 80, 147, 201, 282, 57, 2])).toBe('Once upon a time');
  });

  test('ids agree with the reference BPE on 40 stories', () => {
    for (const story of stories.slice(0, 40)) expect(tokenizer.encode(story, { addBos: false })).toEqual(referenceEncode(story));
  });

  test('decode(encode(story)) round-trips 200 stories, minus characters outside the vocab', () => {
    const known = new Set([...vocab.keys()].filter((t) => [...t].length === 1));
    let lossy = 0;
    for (const story of stories) {
      const expected = [...story].filter((c) => c === ' ' || known.has(c)).join('');
      if (expected !== story) lossy++;
      expect(tokenizer.decode(tokenizer.encode(story))).toBe(expected);
    }
    expect(stories).toHaveLength(200);
    expect(lossy).toBeLessThan(40); // mojibake such as "â€™" becomes <unk>; most stories are plain ASCII
  });
});

describe('byte-level BPE (GPT-2 style) tokenizer.json', () => {
  test('known ids and exact round trips, no BOS unless configured', () => {
    const tokenizer = HfTokenizer.fromJson(byteLevelTokenizerJson(), { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', tokenizer_class: 'GPT2Tokenizer' });
    expect([tokenizer.vocabSize, tokenizer.bosId, tokenizer.eosId, tokenizer.addsBos]).toEqual([260, 259, 259, false]);
    // h e l l o → he l l o; " the" → Ġthe; " world" → Ġ w o r l d (ids are byte values).
    expect(tokenizer.encode('hello the world')).toEqual([257, 108, 108, 111, 258, 32, 119, 111, 114, 108, 100]);
    expect(tokenizer.encode('é')).toEqual([0xc3, 0xa9]);
    for (const text of ['héllo 😀 the\tend  x', ' leading space', 'line\nbreak\r\n', 'ünïcödé — “quotes”']) {
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    }
    expect(tokenizer.tokenText(258)).toBe('Ġthe');
    expect(tokenizer.decode([259, 258])).toBe(' the'); // special tokens skipped
  });

  test('add_bos_token in tokenizer_config.json', () => {
    const tokenizer = HfTokenizer.fromJson(byteLevelTokenizerJson(), { bos_token: '<|endoftext|>', add_bos_token: true });
    expect(tokenizer.encode(' the')).toEqual([259, 258]);
    expect(tokenizer.encode(' the', { addBos: false })).toEqual([258]);
  });

  test('a post-processor that adds BOS decides the default (Llama 3 style)', () => {
    const json = byteLevelTokenizerJson();
    json.post_processor = {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }],
      special_tokens: { '<|endoftext|>': { id: '<|endoftext|>', ids: [259], tokens: ['<|endoftext|>'] } },
    };
    const tokenizer = HfTokenizer.fromJson(json, { bos_token: '<|endoftext|>' });
    expect(tokenizer.addsBos).toBe(true);
    expect(tokenizer.encode(' the')).toEqual([259, 258]);
  });
});

describe('llama2.c tok512.bin', () => {
  const tokenizer = Llama2cTokenizer.open(TOK512, 512);
  const raw = readFileSync(TOK512);
  // The file parsed by hand: pieces (latin1 strings) and scores.
  const pieces: string[] = [];
  const scores: number[] = [];
  for (let at = 4, id = 0; id < 512; id++) {
    scores.push(raw.readFloatLE(at));
    const length = raw.readInt32LE(at + 4);
    pieces.push(raw.toString('latin1', at + 8, at + 8 + length));
    at += 8 + length;
  }
  const ids = new Map<string, number>();
  pieces.forEach((p, i) => ids.has(p) || ids.set(p, i));

  /** run.c's encode() transcribed literally: rescans every pair after every merge. */
  function runC(text: string): number[] {
    const tokens = [1, ids.get(' ')!];
    for (const char of text) {
      const bytes = Buffer.from(char, 'utf8');
      const id = ids.get(bytes.toString('latin1'));
      if (id !== undefined) tokens.push(id);
      else for (const b of bytes) tokens.push(b + 3);
    }
    for (;;) {
      let [bestScore, bestId, bestIdx] = [-1e10, -1, -1];
      for (let i = 0; i < tokens.length - 1; i++) {
        const id = ids.get(pieces[tokens[i]] + pieces[tokens[i + 1]]);
        if (id !== undefined && scores[id] > bestScore) [bestScore, bestId, bestIdx] = [scores[id], id, i];
      }
      if (bestIdx === -1) return tokens;
      tokens.splice(bestIdx, 2, bestId);
    }
  }

  test('"Once upon a time" and other known ids', () => {
    // BOS, then " Once" " upon" " a" " time": the dummy prefix space merges into the first word.
    expect(tokenizer.encode('Once upon a time')).toEqual([1, 403, 407, 261, 378]);
    expect([403, 407, 261, 378].map((id) => tokenizer.tokenText(id))).toEqual([' Once', ' upon', ' a', ' time']);
    expect(tokenizer.encode('Once upon a time', { addBos: false })).toEqual([403, 407, 261, 378]);
    expect(tokenizer.encode('')).toEqual([1]);
    // "é" is a vocab piece; "😀" is not: byte fallback to <0xF0> <0x9F> <0x98> <0x80>, id = byte + 3.
    expect(tokenizer.encode('é', { addBos: false })).toEqual([ids.get(' ')!, ids.get('\xc3\xa9')!]);
    expect(tokenizer.encode('😀', { addBos: false })).toEqual([ids.get(' ')!, 0xf0 + 3, 0x9f + 3, 0x98 + 3, 0x80 + 3]);
    expect(tokenizer.tokenText(0xf0 + 3)).toBe('<0xF0>');
    expect([tokenizer.vocabSize, tokenizer.bosId, tokenizer.eosId]).toEqual([512, 1, 2]);
    expect(tokenizer.decode([1, 403, 407, 261, 378, 2])).toBe('Once upon a time');
    expect(tokenizer.decode([0x0a + 3])).toBe('\n');
    expect(() => tokenizer.decode([512])).toThrow('token id 512 is not in the vocabulary (0..511)');
  });

  test('ids agree with a literal transcription of run.c on 50 story openings', () => {
    for (const story of stories.slice(0, 50)) {
      const opening = story.slice(0, 300);
      expect(tokenizer.encode(opening)).toEqual(runC(opening));
    }
  });

  test('decode(encode(story)) is exact on 200 stories (byte fallback covers everything)', () => {
    for (const story of stories) expect(tokenizer.decode(tokenizer.encode(story))).toBe(story);
    expect(tokenizer.decode(tokenizer.encode(' two  spaces, ünïcödé 😀\n'))).toBe(' two  spaces, ünïcödé 😀\n');
  });
});
