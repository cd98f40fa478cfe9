import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../paths.js';
import { runCli } from './testing/run.js';

const run = runCli;

describe('eora CLI', () => {
  it('inspect --json describes the bundled model', async () => {
    const { code, stdout, stderr } = await run(['inspect', '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const info = JSON.parse(stdout);
    expect(info).toMatchObject({ architecture: 'LlamaForCausalLM', hidden_size: 128, num_layers: 2, num_heads: 8, num_kv_heads: 4, vocab_size: 2048 });
    expect(info.linears).toHaveLength(14);
    expect(info.linears[0]).toMatchObject({ name: 'model.layers.0.self_attn.q_proj', out: 128, in: 128 });
    expect(info.linears.find((l: { name: string }) => l.name === 'model.layers.1.mlp.down_proj')).toMatchObject({ out: 128, in: 384 });
    // Tied embedding counted once: 2048·128 + 2 layers × (4·128² … ) checked against the tensors.
    expect(info.parameters).toBeGreaterThan(600_000);
  });

  it('inspect prints a readable table', async () => {
    const { code, stdout } = await run(['inspect', '--stats']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/LlamaForCausalLM/);
    expect(stdout).toMatch(/model\.layers\.1\.mlp\.down_proj\s+\[128, 384\]\s+49,152/);
  });

  it('a missing model is one line on stderr naming the path, exit 1', async () => {
    const { code, stderr } = await run(['inspect', '/nonexistent/model']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^eora inspect: .*\/nonexistent\/model.*\n$/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('usage mistakes exit 2 with a hint', async () => {
    expect(await run(['inspect', '--bogus'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--bogus.*eora inspect --help/) });
    expect(await run(['frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command "frobnicate"/) });
    expect(await run(['serve', '--port', 'http'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--port must be an integer/) });
  });

  it('every command has --help', async () => {
    for (const name of ['inspect', 'ppl', 'generate', 'serve']) {
      const { code, stdout } = await run([name, '--help']);
      expect(code).toBe(0);
      expect(stdout).toMatch(new RegExp(`^Usage: eora ${name}`));
    }
  });

  it('npx eora runs the compiled CLI', () => {
    const out = execFileSync('npx', ['--no-install', 'eora', 'inspect', '--json'], { cwd: packageRoot(), encoding: 'utf8' });
    expect(JSON.parse(out)).toMatchObject({ num_kv_heads: 4, linears: expect.any(Array) });
  });
});
