// The TinyStories cloze task: pick the true next sentence of a story paragraph among k.
//
// Built reproducibly from held-out text (resources/data/tinystories/validation.txt), so it
// is real text in the bundled model's domain that the model has never seen in training
// (TinyStories' validation split) nor in calibration (the other half of the split).
//
//   1. The text is cut into paragraphs at blank lines. (The file keeps TinyStories' own
//      paragraph breaks inside stories and does not mark where one story ends, so a
//      paragraph — not a story — is the unit.) Only paragraphs from `fromParagraph` on are
//      used: the tail of the file, disjoint from the perplexity prefix (cloze.test.ts checks
//      that the first 20,000 tokens end before it). Paragraphs with non-ASCII characters
//      (in this file: mis-encoded quotes such as â€œ) are left out.
//   2. Each paragraph is cut into sentences at . ! ? (plus a closing quote) followed by a
//      space and a capital or an opening quote. A cut point c ≥ 1 is valid when sentences
//      0..c−1 close every quote they open and sentence c is `minWords..maxWords` words with
//      balanced quotes; one valid cut per paragraph is drawn with the seed.
//   3. `count` paragraphs are drawn (seeded shuffle); the item is
//        context = sentences 0..c−1 joined by one space, true choice = " " + sentence c,
//      and k − 1 distractors are drawn from the same kind of sentences (not a paragraph's
//      first, balanced, minWords..maxWords words) of paragraphs at least `distance`
//      paragraphs away (so almost surely from another story), all texts distinct.
//   4. The k choices are shuffled with the seed; gold is where the true sentence landed.
// The items are written in draw order, so any prefix (`limit`) is itself a random sample.
import { rng } from '../linalg/random.js';

export interface ClozeOptions {
  seed: number;
  /** Choices per item. */
  k: number;
  /** Items to draw. */
  count: number;
  /** 0-based index of the first paragraph used. */
  fromParagraph: number;
  minWords: number;
  maxWords: number;
  /** Minimum |paragraph(distractor) − paragraph(item)|. */
  distance: number;
  /** Fewest sentences of the paragraph in the context. */
  minContext: number;
  /** Whole preceding paragraphs put before the context (most continue the same story). */
  previous: number;
  /** Distractors have a word count within this factor of the true sentence's (≥ 1; Infinity: any). */
  lengthRatio: number;
}

export const CLOZE_DEFAULTS: ClozeOptions = { seed: 20260601, k: 4, count: 400, fromParagraph: 1075, minWords: 3, maxWords: 20, distance: 50, minContext: 1, previous: 0, lengthRatio: 1.3 };

export interface ClozeRecord {
  /** `p<n>`: the paragraph's 1-based number in the source text. */
  id: string;
  context: string;
  choices: string[];
  gold: number;
}

/** Blank-line separated paragraphs, trimmed, empty ones dropped (indices count the rest). */
export function paragraphs(text: string): string[] {
  return text
    .split(/\n[ \t]*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/** Sentences of a paragraph, each with its original text (inner whitespace kept). */
export function sentences(paragraph: string): string[] {
  return paragraph
    .split(/(?<=[.!?]["”’']?)\s+(?=["“]?[A-Z])/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const words = (s: string) => s.split(/\s+/).length;
const balanced = (s: string) => (s.match(/"/g)?.length ?? 0) % 2 === 0;
const ASCII = /^[\x20-\x7e\s]*$/;

export function buildCloze(text: string, options: ClozeOptions = CLOZE_DEFAULTS): ClozeRecord[] {
  const { seed, k, count, fromParagraph, minWords, maxWords, distance, minContext, previous, lengthRatio } = options;
  if (!Number.isInteger(k) || k < 2) throw new Error(`cloze: k must be an integer ≥ 2, got ${k}`);
  const random = rng(seed);
  const pick = (n: number) => Math.floor(random.uniform() * n);
  const usable = (s: string) => balanced(s) && words(s) >= minWords && words(s) <= maxWords;

  const all = paragraphs(text);
  if (fromParagraph >= all.length) throw new Error(`cloze: fromParagraph ${fromParagraph} is past the text's ${all.length} paragraphs`);
  // Paragraphs with non-ASCII text are left out: in this file those are mis-encoded (â€œ for “).
  const split = all.map((p, index) => ({ index, sentences: index >= fromParagraph && ASCII.test(p) ? sentences(p) : [] }));

  // Distractor pool: (paragraph, sentence) pairs, in text order.
  const pool: { paragraph: number; text: string; words: number }[] = [];
  for (const { index, sentences: ss } of split) ss.forEach((s, j) => j > 0 && usable(s) && pool.push({ paragraph: index, text: s, words: words(s) }));

  // One seeded cut per eligible paragraph.
  const cuts: { paragraph: number; c: number }[] = [];
  for (const { index, sentences: ss } of split) {
    const valid: number[] = [];
    for (let c = Math.max(1, minContext); c < ss.length; c++) if (balanced(ss.slice(0, c).join(' ')) && usable(ss[c])) valid.push(c);
    if (valid.length > 0) cuts.push({ paragraph: index, c: valid[pick(valid.length)] });
  }
  if (cuts.length < count) throw new Error(`cloze: only ${cuts.length} paragraphs qualify, ${count} items asked`);
  shuffle(cuts, pick);

  return cuts.slice(0, count).map(({ paragraph, c }) => {
    const ss = split[paragraph].sentences;
    const answer = ss[c];
    const chosen = new Set<string>([answer]);
    const distractors: string[] = [];
    for (let tries = 0; distractors.length < k - 1; tries++) {
      if (tries > 100_000) throw new Error(`cloze: cannot find ${k - 1} distractors for paragraph ${paragraph + 1}`);
      const candidate = pool[pick(pool.length)];
      if (Math.abs(candidate.paragraph - paragraph) < distance || chosen.has(candidate.text)) continue;
      const ratio = candidate.words / words(answer);
      if (ratio > lengthRatio || ratio < 1 / lengthRatio) continue;
      chosen.add(candidate.text);
      distractors.push(candidate.text);
    }
    const choices = [answer, ...distractors];
    const order = shuffle(choices.map((_, i) => i), pick);
    return {
      id: `p${paragraph + 1}`,
      context: [...all.slice(Math.max(0, paragraph - previous), paragraph), ss.slice(0, c).join(' ')].join('\n\n'),
      choices: order.map((i) => ` ${choices[i]}`),
      gold: order.indexOf(0),
    };
  });
}

/** One JSON object per line, keys in a fixed order, LF line ends: the bytes of test.jsonl. */
export function clozeJsonl(records: ClozeRecord[]): string {
  return records.map((r) => JSON.stringify({ id: r.id, context: r.context, choices: r.choices, gold: r.gold })).join('\n') + '\n';
}

/** Fisher–Yates in place with the given index draw; returns the array. */
function shuffle<T>(array: T[], pick: (n: number) => number): T[] {
  for (let i = array.length - 1; i > 0; i--) {
    const j = pick(i + 1);
    [array[i], array[j]] = [array[j], array[i]];
  }
  return array;
}
