// Hard cancel (issue #16, #15 item 8): a call that never reaches a checkpoint (a synchronous
// loop standing in for a long onnxruntime run) is ended by SIGKILL of its engine process. The
// host lives on, the killed process is gone, the next call is answered, reads never wait.
import { afterAll, describe, expect, it } from 'vitest';
import { EngineHost, exited } from './host.js';
import { TEST_HANG_ENV } from './messages.js';
import { compiledWorker } from '../testing/engine.js';

const engine = new EngineHost({
  config: { host: 'server', device: 'cpu' },
  workerFile: compiledWorker(),
  hardCancelMs: 500,
  env: { [TEST_HANG_ENV]: 'model.generate' },
});
afterAll(() => engine.close());

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('EngineHost hard cancel', () => {
  it('kills a blocked engine process, keeps the host, answers the next call', async () => {
    const before = await engine.call('engine.info', {}); // the jobs lane is up (engine.info goes to reads)
    expect(before.device).toBe('cpu');
    const pid = engine.pid('jobs');
    expect(pid).toBeGreaterThan(0);
    const stuck = engine.call('model.generate', { prompt: 'x', maxNewTokens: 4 }, { id: 'stuck' });
    const end = stuck.then(() => null, (e: unknown) => e);
    // While the jobs process spins, quick reads are still answered by their own process.
    const summary = await engine.call('model.inspect', {});
    expect(summary.linears.length).toBeGreaterThan(0);
    engine.cancel('stuck');
    expect(await end).toMatchObject({ code: 'cancelled', message: 'cancelled' });
    const killed = engine.replaced.at(-1)!;
    expect(killed.pid).toBe(pid);
    await exited(killed);
    expect(killed.signalCode).toBe('SIGKILL');
    expect(isAlive(pid!)).toBe(false);
    // A fresh engine process answers a real job with values.
    expect(engine.pid('jobs')).not.toBe(pid);
    const scored = await engine.call('model.perplexity', { seqLen: 32, maxTokens: 64 });
    expect(scored.tokens).toBeGreaterThan(1);
    expect(scored.ppl).toBeGreaterThan(1);
    expect(scored.ppl).toBe(Math.exp(scored.nll));
  }, 180_000);

  it('fails the calls of an engine process that dies unexpectedly, and replaces it', async () => {
    const stuck = engine.call('model.generate', { prompt: 'x', maxNewTokens: 4 });
    const end = stuck.then(() => null, (e: unknown) => e);
    const pid = engine.pid('jobs')!;
    process.kill(pid, 'SIGKILL');
    expect(await end).toMatchObject({ code: 'engine', message: expect.stringMatching(/engine process died \(SIGKILL\)/) });
    expect(isAlive(pid)).toBe(false);
    expect(engine.pid('jobs')).not.toBe(pid);
    const validation = await engine.call('experiment.validate', { config: { compression: { quant: 'rtn:w4g32' } } });
    expect(Array.isArray(validation.issues)).toBe(true);
  }, 180_000);

  it('kills an engine process that holds onnxruntime sessions without harming the host', async () => {
    // hardCancelMs 0: the kill lands while the perplexity job is between or inside its
    // onnxruntime runs, the case that aborted the whole process with worker threads.
    const host = new EngineHost({ config: { host: 'server', device: 'cpu' }, workerFile: compiledWorker(), hardCancelMs: 0 });
    try {
      let first!: () => void;
      const reported = new Promise<void>((resolve) => (first = resolve));
      const job = host.call('model.perplexity', { seqLen: 64 }, { id: 'ppl', onProgress: () => first() });
      const end = job.then(() => null, (e: unknown) => e);
      await reported;
      const pid = host.pid('jobs')!;
      host.cancel('ppl');
      expect(await end).toMatchObject({ code: 'cancelled' });
      // The process cannot answer the soft cancel before a 0 ms timer: it is killed.
      const killed = host.replaced.at(-1)!;
      expect(killed.pid).toBe(pid);
      await exited(killed);
      expect(isAlive(pid)).toBe(false);
      const scored = await host.call('model.perplexity', { seqLen: 32, maxTokens: 64 });
      expect(scored.ppl).toBeGreaterThan(1);
    } finally {
      await host.close();
    }
  }, 180_000);

  it('close() kills every engine process', async () => {
    const host = new EngineHost({ config: { host: 'server', device: 'cpu' }, workerFile: compiledWorker() });
    await host.call('model.inspect', {});
    const pids = [host.pid('jobs')!, host.pid('reads')!];
    expect(pids.every(isAlive)).toBe(true);
    await host.close();
    expect(pids.some(isAlive)).toBe(false);
    await expect(host.call('engine.info', {})).rejects.toMatchObject({ code: 'engine' });
  }, 180_000);
});

describe('engine processes never outlive their host', () => {
  // A host process that starts both engine lanes, prints their pids, (on 'exit') sends the jobs
  // engine a call that blocks it, then dies.
  async function orphanCheck(death: 'exit' | 'SIGKILL'): Promise<number[]> {
    const { spawn } = await import('node:child_process');
    const { pathToFileURL } = await import('node:url');
    const hostModule = pathToFileURL(compiledWorker().replace(/worker\.js$/, 'host.js')).href;
    const script = `
      import { EngineHost } from ${JSON.stringify(hostModule)};
      const host = new EngineHost({ config: { host: 'server', device: 'cpu' }, workerFile: ${JSON.stringify(compiledWorker())},
        env: { ${TEST_HANG_ENV}: 'model.generate' } });
      await host.call('model.inspect', {});
      console.log(JSON.stringify([host.pid('jobs'), host.pid('reads')]));
      ${death === 'exit' ? "host.call('model.generate', { prompt: 'x', maxNewTokens: 2 }).catch(() => {});" : ''}
      process.stdin.once('data', () => ${death === 'exit' ? 'process.exit(0)' : 'undefined'});
      process.stdin.resume();`;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const pids = await new Promise<number[]>((resolve) => parent.stdout.once('data', (line: Buffer) => resolve(JSON.parse(String(line)))));
    const gone = new Promise((resolve) => parent.once('exit', resolve));
    if (death === 'exit') parent.stdin.write('go\n');
    else parent.kill('SIGKILL');
    await gone;
    return pids;
  }

  it('kills them when the host process exits (a blocked one would not notice the disconnect)', async () => {
    const pids = await orphanCheck('exit');
    expect(pids).toHaveLength(2);
    await expect.poll(() => pids.filter(isAlive), { timeout: 120_000 }).toEqual([]);
  }, 180_000);

  it('idle ones exit by themselves when their host is SIGKILLed (IPC disconnect)', async () => {
    // A child blocked in native code when its host is SIGKILLed exits only once it returns to
    // its event loop: a known limit (Node has no PR_SET_PDEATHSIG).
    const pids = await orphanCheck('SIGKILL');
    expect(pids).toHaveLength(2);
    await expect.poll(() => pids.filter(isAlive), { timeout: 120_000 }).toEqual([]);
  }, 180_000);
});
