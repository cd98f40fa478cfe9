import { describe, expect, it } from 'vitest';
import { parseArcRecord } from './arc.js';
import { bundledTasks, loadTask, parseTask, TaskFileError } from './index.js';
import { optionValue, parseMathqaRecord, parseOptions } from './mathqa.js';

const jsonl = (...lines: string[]) => lines.join('\n') + '\n';
const good = '{"context": "The sky is", "choices": [" blue", " green"], "gold": 0}';

describe('jsonl tasks', () => {
  it('reads items, numbering ids and skipping blank lines', () => {
    const task = parseTask(jsonl(good, '', '{"id": "x", "context": "2+2=", "choices": [" 4", " 5", " 6"], "gold": 0}'), { path: 'data/mine.jsonl' });
    expect(task).toEqual({
      name: 'mine',
      file: 'data/mine.jsonl',
      format: 'jsonl',
      skipped: [],
      items: [
        { id: 'mine/0', context: 'The sky is', choices: [' blue', ' green'], gold: 0 },
        { id: 'x', context: '2+2=', choices: [' 4', ' 5', ' 6'], gold: 0 },
      ],
    });
  });

  it.each([
    ['{"context": "a", "choices": [" b", " c"], "gold": 0', 'm.jsonl: line 2: not valid JSON'],
    ['[1, 2]', 'm.jsonl: line 2: expected an object {"context", "choices", "gold"}, got an array of 2'],
    ['{"choices": [" b", " c"], "gold": 0}', 'm.jsonl: line 2: "context" must be a string, got nothing (the field is missing)'],
    ['{"context": "a", "choices": [" b"], "gold": 0}', 'm.jsonl: line 2: "choices" must be an array of at least 2 strings, got an array of 1'],
    ['{"context": "a", "choices": [" b", 3], "gold": 0}', 'm.jsonl: line 2: "choices"[1] must be a non-empty string, got 3'],
    ['{"context": "a", "choices": [" b", " c"], "gold": 2}', 'm.jsonl: line 2: "gold" must be an integer index into "choices" (0..1), got 2'],
    ['{"context": "a", "choices": [" b", " c"], "gold": "0"}', 'm.jsonl: line 2: "gold" must be an integer index into "choices" (0..1), got "0"'],
    ['{"id": "m/0", "context": "a", "choices": [" b", " c"], "gold": 1}', 'm.jsonl: item id "m/0" appears twice'],
  ])('rejects a malformed line 2 (%s) naming the file, the line and the field', (line, message) => {
    expect(() => parseTask(jsonl(good, line), { path: 'm.jsonl' })).toThrow(message);
    expect(() => parseTask(jsonl(good, line), { path: 'm.jsonl' })).toThrow(TaskFileError);
  });

  it('rejects an empty file and a missing one, naming them', () => {
    expect(() => parseTask('\n\n', { path: 'e.jsonl' })).toThrow('e.jsonl: has no items');
    expect(() => loadTask({ path: '/nonexistent/t.jsonl' })).toThrow('/nonexistent/t.jsonl: no such file or directory');
  });

  it('keeps the first `limit` items and rejects a bad limit', () => {
    const text = jsonl(good, good.replace('0}', '1}'), good);
    expect(parseTask(text, { path: 'l.jsonl', limit: 2 }).items.map((i) => i.gold)).toEqual([0, 1]);
    expect(() => loadTask({ path: 'l.jsonl', limit: 0 })).toThrow('l.jsonl: limit must be a positive integer, got 0');
  });
});

const arc = (question: string, answers: string, format: string, answer: string) => ({
  instruction: `Please choose the correct answer to the question: ${question}\n\n${answers}\n\nAnswer format: ${format}`,
  input: '',
  output: `the correct answer is ${answer}`,
  answer,
});

describe('ARC records', () => {
  it('parses question and choices out of the instruction, in lm-eval prompt form', () => {
    const record = arc('Which is a gas?', 'Answer1: ice Answer2: steam Answer3: a rock, or sand', 'answer1/answer2/answer3', 'answer2');
    expect(parseArcRecord(record, 'arc/0')).toEqual({
      item: { id: 'arc/0', context: 'Question: Which is a gas?\nAnswer:', choices: [' ice', ' steam', ' a rock, or sand'], gold: 1 },
    });
  });

  it.each([
    [{ instruction: 'What is it?', answer: 'answer1' }, 'instruction does not read'],
    [arc('Q?', 'Answer1: x Answer3: y', 'answer1/answer2', 'answer1'), 'found choice labels 1,3 where the answer format lists 1,2'],
    [arc('Q?', 'Answer1: x Answer2: y', 'answer1/answer2', 'answer3'), 'answer "answer3" is not one of answer1/answer2'],
    [arc('Q?', 'Answer1: x Answer2: see Answer1: z', 'answer1/answer2', 'answer1'), 'found choice labels 1,2,1'],
    [{ instruction: 3, answer: 'answer1' }, '"instruction" is not a string'],
    ['text', 'not an object'],
  ])('skips an unparseable record with the reason (%#)', (record, reason) => {
    const result = parseArcRecord(record, 'arc/0');
    expect('reason' in result && result.reason).toContain(reason);
  });

  it('reports skips with their index; a file with no readable record is an error', () => {
    const records = [arc('Q?', 'Answer1: x Answer2: y', 'answer1/answer2', 'answer1'), { instruction: 'Please choose the correct answer to the question: broken', answer: 'answer1' }];
    const task = parseTask(JSON.stringify(records), { path: 'a/arc_easy/test.json' });
    expect(task.format).toBe('arc');
    expect(task.name).toBe('arc_easy');
    expect(task.items).toHaveLength(1);
    expect(task.skipped).toEqual([{ index: 1, reason: expect.stringContaining('instruction does not read') }]);
    expect(() => parseTask(JSON.stringify([records[1]]), { path: 'b.json', format: 'arc' })).toThrow('b.json: no record could be read as arc (record 0: instruction does not read');
  });
});

const mathqa = (problem: string, options: string, answer: string) => ({ instruction: `${problem}, The options: ${options}`, input: '', output: '', answer });

describe('MathQA records', () => {
  it('parses both option syntaxes and finds gold by the answer value', () => {
    expect(parseMathqaRecord(mathqa('what is 3 + 4 ?', 'a ) 6 , b ) 7 % , c ) 8 , d ) 9 , e ) none of these', '7.0'), 'm/0')).toEqual({
      item: { id: 'm/0', context: 'Question: what is 3 + 4 ?\nAnswer:', choices: [' 6', ' 7 %', ' 8', ' 9', ' none of these'], gold: 1 },
    });
    const listed = parseMathqaRecord(mathqa('ratio ?', "['a ) 2 : 3', 'b ) 4 : 5', 'c ) 16 : 9', 'd ) 7 : 9', 'e ) 8 : 5']", '0.8'), 'm/1');
    expect('item' in listed && listed.item.gold).toBe(1);
    expect('item' in listed && listed.item.choices[2]).toBe(' 16 : 9');
  });

  it.each([
    [mathqa('p', 'a ) 1 , b ) 2 , c ) 3 , d ) 4 , e ) 5', '9.0'), 'answer 9.0 matches none of the options (1 | 2 | 3 | 4 | 5)'],
    [mathqa('p', 'a ) 3 , b ) 4 , c ) 5 , d ) 3 , e ) 7', '3.0'), 'answer 3.0 matches several options (a, d)'],
    [mathqa('p', 'a ) 1 , b ) 2 , c ) 3 , d ) 4 , e ) 5', 'inf'), 'answer "inf" is not a finite number'],
    [mathqa('p', 'a ) 1 , b ) 2 , c ) 3', '1.0'), 'found 3 options, expected a ) … e )'],
    [{ instruction: 'no options here', answer: '1' }, 'instruction has no ", The options: …" part'],
  ])('skips a record it cannot resolve, with the reason (%#)', (record, reason) => {
    expect(parseMathqaRecord(record, 'm/0')).toEqual({ reason });
  });

  it('reads the quantity an option states, and nothing from an expression', () => {
    expect(parseOptions('a ) a ) 4 inches , b ) b ) 6 inches , c ) 5 , d ) 8 , e ) 10')).toEqual(['4 inches', '6 inches', '5', '8', '10']);
    expect([' 27 %', '1,200 rs', '15 / 8 ohms', '1 : 729', 'rs . 240', '$ 3.75', '− 120', '50 km / hr', '8 .'].map(optionValue)).toEqual([27, 1200, 1.875, 1 / 729, 240, 3.75, -120, 50, 8]);
    expect(['48 - 8 π', '20 v 2', '2 sqrt ( 61 )', '96 m 3', 'none of these', '6 / π', '1 / 0'].map(optionValue)).toEqual([null, null, null, null, null, null, null]);
  });
});

describe('bundled tasks', () => {
  it('load with the expected item counts (skips reported, never guessed)', () => {
    const counts = Object.fromEntries(
      bundledTasks().map((spec) => {
        const task = loadTask(spec);
        return [task.name, [task.format, task.items.length, task.skipped.length]];
      }),
    );
    expect(counts).toEqual({
      tinystories_cloze: ['jsonl', 400, 0],
      arc_easy: ['arc', 2376, 0],
      arc_challenge: ['arc', 1172, 0],
      mathqa: ['mathqa', 2815, 170],
    });
  });

  it('infer their format from the file, and `limit` reports only the skips among the records read', () => {
    const [, arcEasy, , math] = bundledTasks();
    expect(loadTask({ path: arcEasy.path }).format).toBe('arc');
    const first = loadTask({ path: math.path, limit: 50 });
    expect(first.format).toBe('mathqa');
    expect(first.items).toHaveLength(50);
    const lastIndex = Number(first.items[49].id.split('/')[1]);
    expect(first.skipped.every((s) => s.index < lastIndex)).toBe(true);
    expect(first.skipped.length).toBe(lastIndex + 1 - 50);
  });
});
