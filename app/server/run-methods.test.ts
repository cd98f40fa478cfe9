// The run and experiment part of the contract over the real transport (HTTP → host → worker):
// validation messages per field, the bundled presets, the runs list and its refusals.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineHost } from '../jobs/host.js';
import { testEngine } from '../testing/engine.js';
import { startServer, type RunningServer } from './server.js';

const token = 'test-token-runs-0123456789abcdef';
let engine: EngineHost;
let server: RunningServer;

beforeAll(async () => {
  const ui = mkdtempSync(join(tmpdir(), 'eora-ui-'));
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>ui</title>');
  engine = testEngine();
  server = await startServer({ engine, rendererDir: ui, token });
});

afterAll(async () => {
  await server.close();
  await engine.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(method: string, params: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`http://127.0.0.1:${server.port}/api/call`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ id: 'r1', method, params }),
  });
  return { status: response.status, body: await response.json() };
}

describe('run methods over HTTP', () => {
  it('experiment.validate names every bad field with the engine schema message', async () => {
    const { status, body } = await call('experiment.validate', { config: { compression: { quant: 'gptq:w3g32' }, compensation: { ranks: [8, 'x'], rank: 3 } } });
    expect(status).toBe(200);
    expect(body.result.ok).toBe(false);
    const paths = body.result.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['compensation.ranks[1]', 'compensation']));
    expect(body.result.issues.find((i: { path: string }) => i.path === 'compensation').message).toContain('unknown key "rank"');
    const good = await call('experiment.validate', { config: { compression: { quant: 'gptq:w3g32' } } });
    expect(good.body.result).toEqual({ ok: true, issues: [] });
    const grammar = await call('experiment.validate', { config: { compression: { quant: 'gptq:w9' } } });
    expect(grammar.body.result.issues[0].path).toBe('compression.quant');
  });

  it('defaults carries the bundled model and the e2e-small preset', async () => {
    const { body } = await call('defaults', {});
    expect(body.result.bundledModel).toMatch(/tinystories-656k$/);
    expect(body.result.presets['e2e-small'].compression.quant).toBe('gptq:w3g32');
  });

  it('lists an empty runs folder, refuses to delete a folder that is not a run, and checks params', async () => {
    const root = mkdtempSync(join(tmpdir(), 'eora-runs-'));
    expect((await call('runs.list', { root })).body.result).toEqual({ root, runs: [] });
    const refused = await call('runs.delete', { dir: root });
    expect(refused.status).toBe(500);
    expect(refused.body.error.message).toContain(root);
    const bad = await call('run.spectrum', { dir: root, linear: '../../etc/passwd' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^run\.spectrum: linear: /);
    const twoWays = await call('run.addVariant', { dir: root, method: 'eora', rank: 8, budget: 100 });
    expect(twoWays.body.error.message).toContain('exactly one of rank, budget, ranks');
  });
});
