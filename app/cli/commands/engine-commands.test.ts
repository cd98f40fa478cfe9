import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../testing/run.js';

const run = runCli;

describe('eora ppl / generate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eora-cli-'));
  const story = join(dir, 'story.txt');
  writeFileSync(story, 'Once upon a time, there was a little cat. The cat liked to play in the sun. One day, it saw a big red ball.');
  const empty = join(dir, 'empty.txt');
  writeFileSync(empty, '');

  it('ppl --json scores a text file on the bundled model', async () => {
    const { code, stdout, stderr } = await run(['ppl', '--text', story, '--seq-len', '16', '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ text: story, device: 'cpu', seq_len: 16, stride: 16 });
    expect(result.tokens).toBeGreaterThan(10);
    expect(result.ppl).toBeGreaterThan(1);
    expect(result.ppl).toBeLessThan(100); // far below the vocabulary size (2048): the model knows such text
    expect(result.ppl).toBeCloseTo(Math.exp(result.nll), 6);
  });

  it('ppl prints a readable line and reports bad files and options', async () => {
    expect((await run(['ppl', '--text', story, '--quiet'])).stdout).toMatch(/^perplexity \d+\.\d{4} \(mean NLL/);
    expect(await run(['ppl', '--text', empty])).toMatchObject({ code: 1, stderr: `eora ppl: ${empty}: the text is empty\n` });
    expect(await run(['ppl', '--text', join(dir, 'missing.txt')])).toMatchObject({ code: 1, stderr: expect.stringMatching(/missing\.txt: no such file or directory\n$/) });
    expect(await run(['ppl', '--text', story, '--seq-len', '4096'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/seqLen \(4096\) exceeds the model's max_position_embeddings \(512\)/) });
    expect(await run(['ppl', '--device', 'tpu'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--device: unknown device "tpu"/) });
  });

  it('generate continues the prompt; --json has the ids', async () => {
    const { code, stdout } = await run(['generate', '--max-new-tokens', '12', '--json']);
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.prompt).toBe('Once upon a time');
    expect(result.token_ids).toHaveLength(12);
    expect(result.text).toMatch(/^, a little girl/);
    const plain = await run(['generate', '--max-new-tokens', '12', '--temperature', '0.8', '--top-p', '0.9', '--seed', '3']);
    expect(plain.stdout).toMatch(/^Once upon a time/);
    expect(plain.stdout).toBe((await run(['generate', '--max-new-tokens', '12', '--temperature', '0.8', '--top-p', '0.9', '--seed', '3'])).stdout);
    expect(await run(['generate', '--top-p', '0'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--top-p must be greater than 0/) });
  });
});
