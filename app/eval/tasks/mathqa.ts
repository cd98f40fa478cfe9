// MathQA as the LLM-Adapters project distributes it: a JSON array of
//   {"instruction": "{Problem}, The options: a ) 38 , b ) 27.675 , … , e ) none of these", "input": "",
//    "output": "", "answer": "38.0"}
// (some records write the options as a Python list: "['a ) 2 : 3', 'b ) 4 : 5', …]").
// The file keeps only the *value* of the correct option, so the gold index is found by
// evaluating each option's leading quantity ("27 %" → 27, "15 / 8 ohms" → 1.875,
// "1 : 729" → 1/729) and requiring exactly one option to equal the answer. Records where no
// option or several options match, or the answer is not a finite number, are skipped with
// the reason, never guessed. The prompt follows lm-eval-harness' mathqa task: context
// "Question: {Problem}\nAnswer:", continuations " {option text}".
import type { Parsed } from './arc.js';

const LETTERS = ['a', 'b', 'c', 'd', 'e'];
const SPLIT = /^([\s\S]+?)\s*,\s*The options:\s*([\s\S]+)$/;

export function parseMathqaRecord(record: unknown, id: string): Parsed {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return { reason: 'not an object' };
  const { instruction, answer } = record as Record<string, unknown>;
  if (typeof instruction !== 'string') return { reason: '"instruction" is not a string' };
  if (typeof answer !== 'string') return { reason: '"answer" is not a string' };
  const match = SPLIT.exec(instruction.trim());
  if (!match) return { reason: 'instruction has no ", The options: …" part' };
  const [, problem, optionText] = match;
  const options = parseOptions(optionText);
  if (typeof options === 'string') return { reason: options };
  const value = Number(answer.trim());
  if (answer.trim() === '' || !Number.isFinite(value)) return { reason: `answer "${answer}" is not a finite number` };
  const hits = options.map((o, i) => (sameValue(optionValue(o), value) ? i : -1)).filter((i) => i >= 0);
  if (hits.length === 0) return { reason: `answer ${answer} matches none of the options (${options.join(' | ')})` };
  if (hits.length > 1) return { reason: `answer ${answer} matches several options (${hits.map((i) => LETTERS[i]).join(', ')})` };
  return { item: { id, context: `Question: ${problem.trim()}\nAnswer:`, choices: options.map((o) => ` ${o}`), gold: hits[0] } };
}

/** "a ) x , b ) y , …" or "['a ) x', 'b ) y', …]" → the five option texts, or why not. */
export function parseOptions(text: string): string[] | string {
  const trimmed = text.trim();
  let labelled: string[];
  if (trimmed.startsWith('[')) {
    const list = /^\[\s*'([\s\S]*)'\s*\]$/.exec(trimmed);
    if (!list) return 'the options list is not a list of quoted strings';
    labelled = list[1].split(/'\s*,\s*'/);
  } else {
    labelled = trimmed.split(/\s+,\s+(?=[a-e] \) )/);
  }
  if (labelled.length !== LETTERS.length) return `found ${labelled.length} options, expected a ) … e )`;
  const texts: string[] = [];
  for (let i = 0; i < labelled.length; i++) {
    const prefix = `${LETTERS[i]} ) `;
    if (!labelled[i].startsWith(prefix)) return `option ${i + 1} does not start with "${prefix}"`;
    let body = labelled[i].slice(prefix.length).trim();
    if (body.startsWith(prefix)) body = body.slice(prefix.length).trim(); // "a ) a ) 4 inches" (doubled label in the source)
    body = body.replace(/\s*,$/, '');
    if (body === '') return `option ${LETTERS[i]} is empty`;
    texts.push(body);
  }
  return texts;
}

/**
 * The quantity an option states: "27 %" → 27, "1,200 rs" → 1200, "15 / 8 ohms" → 1.875,
 * "1 : 729" → 1/729, "rs . 240" → 240, "$ 3.75" → 3.75; null when there is none or the rest is an expression rather than a unit
 * ("48 - 8 π", "20 v 2", "2 sqrt ( 61 )", "96 m 3"), which a leading number would misstate.
 */
export function optionValue(option: string): number | null {
  const text = option.trim().replace(/^−\s*/, '-').replace(/^(?:rs\s*\.?|s\s*\.|\$|₹|€|£)\s*/i, '');
  const m = /^(-?\s*\d[\d,]*(?:\.\d+)?|-?\s*\.\d+)(?:\s*([/:])\s*(\d[\d,]*(?:\.\d+)?))?\s*(.*)$/.exec(text);
  if (!m) return null;
  const unit = m[4];
  if (/[\d\-+*^()√π:=]|sqrt/.test(unit)) return null; // '/' alone is a unit's ("km / hr")
  const a = Number(m[1].replace(/[\s,]/g, ''));
  if (!m[2]) return a;
  const b = Number(m[3].replace(/,/g, ''));
  return b === 0 ? null : a / b;
}

function sameValue(a: number | null, b: number): boolean {
  return a !== null && Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
}
