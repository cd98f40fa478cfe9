import { describe, expect, it } from 'vitest';
import { fieldMessage, fieldOf, formatTasks, joinPath, messagesByField, parseNumberList, parseTasks, runFolderName } from './experiment-form.js';

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

  it('puts each engine issue under the field its path names', () => {
    expect(fieldOf('compression.prune')).toBe('compression.prune');
    expect(fieldOf('compensation.ranks[1]')).toBe('compensation.ranks');
    expect(fieldOf('calibration.seq_len')).toBe('calibration.seq_len');
    expect(fieldOf('evaluation.perplexity[0].tokens')).toBe('evaluation.perplexity');
    expect(fieldOf('evaluation.tasks[2].name')).toBe('evaluation.tasks');
    expect(fieldOf('model')).toBe('model');
    expect(fieldOf('')).toBe('');
    expect(fieldOf('calibration.activations')).toBe(''); // no such field in the form: shown for the whole form
  });

  it('words messages with field labels, not config paths or CLI flags', () => {
    expect(fieldMessage({ path: 'compensation.ranks[1]', message: 'expected a positive integer, got "x"' })).toEqual({ field: 'compensation.ranks', text: 'entry 2: expected a positive integer, got "x"' });
    expect(fieldMessage({ path: 'calibration.seq_len', message: 'must be at most 2048 (--seq-len); set calibration.samples lower' }).text).toBe('must be at most 2048 ("Tokens per sample"); set "Samples" lower');
    expect(fieldMessage({ path: 'compression.quant', message: "pruning and quantizing together needs --prune sparsegpt; got --prune 'wanda:0.5' with --quant 'rtn:w4'" }).text).toBe(
      "pruning and quantizing together needs \"Pruning\" sparsegpt; got \"Pruning\" 'wanda:0.5' with \"Quantization\" 'rtn:w4'",
    );
    expect(fieldMessage({ path: 'model', message: '/nope/model does not exist' }).text).toBe('/nope/model does not exist');
    expect(fieldMessage({ path: 'calibration.activations', message: 'expected "sequential"' })).toEqual({ field: '', text: 'calibration › activations: expected "sequential"' });
    expect(fieldMessage({ path: 'evaluation.perplexity[0].tokens', message: 'expected at least 2 tokens, got 0' }).text).toBe('expected at least 2 tokens, got 0');
  });

  it('groups messages by field and drops repeats', () => {
    const grouped = messagesByField([
      { path: 'evaluation.perplexity[0].tokens', message: 'expected a positive integer, got 0' },
      { path: 'evaluation.perplexity[0].tokens', message: 'expected a positive integer, got 0' },
      { path: 'compression.prune', message: 'sparsity must be in [0, 1), got 7' },
    ]);
    expect(grouped).toEqual({ 'evaluation.perplexity': ['expected a positive integer, got 0'], 'compression.prune': ['sparsity must be in [0, 1), got 7'] });
  });
});
