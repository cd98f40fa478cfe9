import { describe, expect, it } from 'vitest';
import { formatTasks, joinPath, parseNumberList, parseTasks, runFolderName } from './experiment-form.js';

describe('experiment form fields', () => {
  it('parses number lists, keeping bad tokens for the engine to name', () => {
    expect(parseNumberList('8, 16 32')).toEqual([8, 16, 32]);
    expect(parseNumberList('8, x')).toEqual([8, 'x']);
    expect(parseNumberList('  ')).toEqual([]);
  });
  it('round-trips task lists', () => {
    const tasks = parseTasks('arc_easy:50, mathqa');
    expect(tasks).toEqual([{ name: 'arc_easy', limit: 50 }, { name: 'mathqa' }]);
    expect(formatTasks(tasks as { name: string; limit?: number }[])).toBe('arc_easy:50, mathqa');
  });
  it('names run folders and joins paths', () => {
    expect(runFolderName('GPTQ w3 / EoRA', new Date(2026, 0, 2, 3, 4, 5))).toBe('gptq-w3-eora-20260102-030405');
    expect(joinPath('/runs', 'a')).toBe('/runs/a');
    expect(joinPath('C:\\runs\\', 'a')).toBe('C:\\runs\\a');
  });
});
