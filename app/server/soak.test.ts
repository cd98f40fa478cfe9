// Soak: 200 mixed valid and invalid requests and 50 malformed WebSocket frames, in a bounded
// loop, while a small job runs. The server stays up and the job's result equals running it alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeCode, malformedFrames, rawUpgrade } from './testing/raw.js';
import { startTestServer, type TestServer } from './testing/start-test-server.js';

let t: TestServer;
beforeAll(async () => void (t = await startTestServer('soak-token-0123456789abcdef')));
afterAll(() => t.close());

const info = (id: string) => JSON.stringify({ id, method: 'engine.info', params: {} });

/** Request i of the mix: [what, init, expected status]. */
function request(i: number): [string, RequestInit & { path?: string }, number] {
  const json = t.bearer;
  switch (i % 10) {
    case 0: return ['valid call', { method: 'POST', headers: json, body: info(`ok${i}`) }, 200];
    case 1: return ['invalid params', { method: 'POST', headers: json, body: JSON.stringify({ id: `p${i}`, method: 'model.histogram', params: { linear: 'x', bins: 0 } }) }, 400];
    case 2: return ['unknown method', { method: 'POST', headers: json, body: JSON.stringify({ id: `u${i}`, method: 'rm.rf', params: {} }) }, 404];
    case 3: return ['not JSON', { method: 'POST', headers: json, body: '{"id": ' }, 400];
    case 4: return ['text/plain', { method: 'POST', headers: { ...json, 'Content-Type': 'text/plain' }, body: info(`t${i}`) }, 415];
    case 5: return ['foreign Origin', { method: 'POST', headers: { ...json, Origin: 'http://evil.example' }, body: info(`o${i}`) }, 403];
    case 6: return ['no token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: info(`n${i}`) }, 401];
    case 7: return ['deep JSON', { method: 'POST', headers: json, body: `{"id":"d${i}","method":"engine.info","params":${'['.repeat(5000)}${']'.repeat(5000)}}` }, 400];
    case 8: return ['GET on the API', { method: 'GET', headers: json }, 405];
    default: return ['cancel of nothing', { method: 'POST', headers: json, body: JSON.stringify({ id: `c${i}`, method: 'cancel', params: null }), path: '/api/cancel' }, 200];
  }
}

describe('server soak', () => {
  it('survives 200 mixed requests and 50 malformed frames during a job, whose result is unchanged', async () => {
    const job = { seqLen: 32, maxTokens: 128 };
    const alone = (await t.engine.call('model.perplexity', job)) as { ppl: number; nll: number; tokens: number };
    const { base, port } = t;
    const running = t.post('/api/call', JSON.stringify({ id: 'soak-job', method: 'model.perplexity', params: job }));

    const frames = malformedFrames(4096);
    const statuses: string[] = [];
    for (let i = 0; i < 200; i++) {
      const [what, init, expected] = request(i);
      const response = await fetch(`${base}${init.path ?? '/api/call'}`, init);
      await response.arrayBuffer();
      if (response.status !== expected) statuses.push(`${i} ${what}: ${response.status}, expected ${expected}`);
      if (i % 4 === 0) {
        const bad = frames[(i / 4) % frames.length]!;
        const { status, raw } = await rawUpgrade(port, `/api/events?token=${t.token}`);
        expect(status).toBe(101);
        raw.socket.write(bad.bytes);
        await raw.ended;
        if (closeCode(raw.received()) !== bad.code) statuses.push(`frame ${bad.name}: close ${closeCode(raw.received())}, expected ${bad.code}`);
      }
    }
    expect(statuses).toEqual([]);

    const response = await running;
    expect(response.status).toBe(200);
    const { result } = (await response.json()) as { result: typeof alone };
    expect([result.ppl, result.nll, result.tokens]).toEqual([alone.ppl, alone.nll, alone.tokens]);
    expect((await t.post('/api/call', info('after'))).status).toBe(200);
  });
});
