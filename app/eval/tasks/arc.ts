// ARC (Easy / Challenge) as the LLM-Adapters project distributes it: a JSON array of
//   {"instruction": "Please choose the correct answer to the question: Q\n\nAnswer1: A1 Answer2: A2 …\n\n
//                    Answer format: answer1/answer2/…", "input": "", "output": "…", "answer": "answerK"}
// The question and the choices are parsed back out of `instruction`. The prompt is then built
// as lm-eval-harness' arc_easy/arc_challenge tasks do: context "Question: {q}\nAnswer:",
// continuations " {choice}". A record that does not parse cleanly (an "AnswerN:" inside a
// choice, labels out of order, an answer outside the list) is skipped with the reason.
import type { ChoiceItem } from './types.js';

const INSTRUCTION = /^Please choose the correct answer to the question: ([\s\S]+?)\n\n(Answer1: [\s\S]+?)\n\nAnswer format: (answer\d+(?:\/answer\d+)*)$/;

export type Parsed = { item: ChoiceItem } | { reason: string };

export function parseArcRecord(record: unknown, id: string): Parsed {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return { reason: 'not an object' };
  const { instruction, answer } = record as Record<string, unknown>;
  if (typeof instruction !== 'string') return { reason: '"instruction" is not a string' };
  if (typeof answer !== 'string') return { reason: '"answer" is not a string' };
  const match = INSTRUCTION.exec(instruction.trim());
  if (!match) return { reason: 'instruction does not read "Please choose the correct answer to the question: …\\n\\nAnswer1: …\\n\\nAnswer format: …"' };
  const [, question, block, format] = match;
  const labels = format.split('/');
  // "Answer1: x Answer2: y" → ['', '1', 'x', '2', 'y']
  const parts = block.split(/(?:^|\s+)Answer(\d+): /);
  const numbers = parts.filter((_, i) => i % 2 === 1);
  const choices = parts.filter((_, i) => i > 0 && i % 2 === 0).map((text) => text.trim());
  const expected = labels.map((_, i) => String(i + 1));
  if (labels.some((label, i) => label !== `answer${i + 1}`)) return { reason: `answer format "${format}" is not answer1/answer2/… in order` };
  if (numbers.join(',') !== expected.join(',')) return { reason: `found choice labels ${numbers.join(',')} where the answer format lists ${expected.join(',')}` };
  if (choices.some((c) => c === '')) return { reason: 'a choice is empty' };
  const gold = labels.indexOf(answer.trim().toLowerCase());
  if (gold < 0) return { reason: `answer "${answer}" is not one of ${labels.join('/')}` };
  return { item: { id, context: `Question: ${question.trim()}\nAnswer:`, choices: choices.map((c) => ` ${c}`), gold } };
}
