// The run and experiment part of the contract over the real transport (HTTP → host → worker):
// validation messages per field, the bundled presets, the runs list and its refusals.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './testing/start-test-server.js';

let t: TestServer;
beforeAll(async () => void (t = await startTestServer('test-token-runs-0123456789abcdef')));
afterAll(() => t.close());

describe('run methods over HTTP', () => {
  it('experiment.validate names every bad field with the engine schema message', async () => {
    const { status, body } = await t.call('experiment.validate', { config: { compression: { quant: 'gptq:w3g32' }, compensation: { ranks: [8, 'x'], rank: 3 } } });
    expect(status).toBe(200);
    expect(body.result.ok).toBe(false);
    const paths = body.result.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['compensation.ranks[1]', 'compensation']));
    expect(body.result.issues.find((i: { path: string }) => i.path === 'compensation').message).toContain('unknown key "rank"');
    const good = await t.call('experiment.validate', { config: { compression: { quant: 'gptq:w3g32' } } });
    expect(good.body.result).toEqual({ ok: true, issues: [] });
    const grammar = await t.call('experiment.validate', { config: { compression: { quant: 'gptq:w9' } } });
    expect(grammar.body.result.issues[0].path).toBe('compression.quant');
  });

  it('defaults carries the bundled model and the e2e-small preset', async () => {
    const { body } = await t.call('defaults', {});
    expect(body.result.bundledModel).toMatch(/tinystories-656k$/);
    expect(body.result.presets['e2e-small'].compression.quant).toBe('gptq:w3g32');
  });

  it('lists an empty runs folder, refuses to delete a folder that is not a run, and checks params', async () => {
    const root = mkdtempSync(join(tmpdir(), 'eora-runs-'));
    expect((await t.call('runs.list', { root })).body.result).toEqual({ root, runs: [] });
    const refused = await t.call('runs.delete', { dir: root });
    expect(refused.status).toBe(500);
    expect(refused.body.error.message).toContain(root);
    const bad = await t.call('run.spectrum', { dir: root, linear: '../../etc/passwd' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^run\.spectrum: linear: /);
    const twoWays = await t.call('run.addVariant', { dir: root, method: 'eora', rank: 8, budget: 100 });
    expect(twoWays.body.error.message).toContain('exactly one of rank, budget, ranks');
  });
});
