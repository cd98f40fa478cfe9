import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from './testing/start-test-server.js';

const token = 'test-token-0123456789abcdef';
let t: TestServer;
beforeAll(async () => void (t = await startTestServer(token)));
afterAll(() => t.close());

// Response bodies are checked field by field below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (response: Response): Promise<any> => response.json();

/** A raw envelope (so tests can send bad ones) with the bearer token unless `headers` say otherwise. */
const call = (body: unknown, headers: Record<string, string> = { Authorization: `Bearer ${token}` }) =>
  t.post('/api/call', JSON.stringify(body), { 'Content-Type': 'application/json', ...headers });

describe('headless server', () => {
  it('listens on loopback and prints a URL with the token', () => {
    expect(t.server.url).toBe(`http://127.0.0.1:${t.port}/?token=${token}`);
  });

  it('refuses requests without the token (401), for the page and the API', async () => {
    expect((await fetch(`${t.base}/`)).status).toBe(401);
    const response = await call({ id: 'a', method: 'engine.info', params: {} }, {});
    expect(response.status).toBe(401);
    expect((await json(response)).error.code).toBe('unauthorized');
    expect((await call({ id: 'a', method: 'engine.info', params: {} }, { Authorization: 'Bearer wrong' })).status).toBe(401);
  });

  it('serves the page with ?token= and sets a cookie that authorizes later requests', async () => {
    const first = await fetch(`${t.base}/?token=${token}`);
    expect(first.status).toBe(200);
    expect(await first.text()).toContain('<title>ui</title>');
    const cookie = first.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    const again = await fetch(`${t.base}/index.html`, { headers: { Cookie: cookie.split(';')[0] } });
    expect(again.status).toBe(200);
  });

  it('does not serve files outside the renderer folder', async () => {
    const response = await fetch(`${t.base}/..%2f..%2fetc%2fpasswd`, { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).toBe(404);
  });

  it('answers a contract call through the engine worker', async () => {
    const response = await call({ id: 'info1', method: 'engine.info', params: {} });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.ok).toBe(true);
    expect(body.result.device).toBe('cpu');
    expect(body.result.backends.map((b: { name: string }) => b.name)).toContain('cpu');
  });

  it('rejects invalid params with a message naming the field', async () => {
    const response = await call({ id: 'h1', method: 'model.histogram', params: { linear: 'x', bins: 0 } });
    expect(response.status).toBe(400);
    const body = await json(response);
    expect(body.error.message).toMatch(/^model\.histogram: bins: /);
  });

  it('rejects unknown methods and malformed envelopes', async () => {
    expect((await call({ id: 'u1', method: 'model.delete', params: {} })).status).toBe(404);
    expect((await call({ id: 'bad id!', method: 'engine.info', params: {} })).status).toBe(400);
    expect((await call([1, 2])).status).toBe(400);
  });

  it('streams progress events over the WebSocket for a call', async () => {
    const { socket, events } = await t.events<{ id: string; progress: { done: number; total: number } }>();
    const response = await call({ id: 'insp1', method: 'model.inspect', params: {} });
    expect((await json(response)).result.linears).toHaveLength(14);
    // The events travel on another connection than the response: wait for the last one.
    await expect.poll(() => events.filter((e) => e.id === 'insp1').at(-1)?.progress, { timeout: 240_000 }).toMatchObject({ done: 14, total: 14 });
    socket.close();
  });

  it('a second page finds a job (jobs.active), follows its progress by id (jobs.attach) and cancels it by id', async () => {
    const { socket, events } = await t.events<{ id: string; progress: { stage: string } }>();
    const job = call({ id: 'job9', method: 'model.perplexity', params: { seqLen: 64 } });
    await expect.poll(() => events.some((e) => e.id === 'job9'), { timeout: 240_000 }).toBe(true);
    const active = await json(await call({ id: 'list1', method: 'jobs.active', params: {} }));
    expect(active.result.jobs.map((j: { id: string; method: string }) => [j.id, j.method])).toContainEqual(['job9', 'model.perplexity']);
    const attached = call({ id: 'page2', method: 'jobs.attach', params: { id: 'job9' } });
    await expect.poll(() => events.some((e) => e.id === 'page2'), { timeout: 240_000 }).toBe(true);
    expect(events.find((e) => e.id === 'page2')!.progress.stage).toBe('scoring');
    const cancel = await t.post('/api/cancel', JSON.stringify({ id: 'job9', method: 'cancel', params: null }));
    expect(cancel.status).toBe(200);
    for (const response of [await attached, await job]) {
      expect(response.status).toBe(409);
      expect((await json(response)).error.code).toBe('cancelled');
    }
    socket.close();
  });

  it('refuses a WebSocket without the token', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${t.port}/api/events`);
    const outcome = await new Promise((resolve) => {
      socket.once('open', () => resolve('open'));
      socket.once('error', () => resolve('refused'));
    });
    expect(outcome).toBe('refused');
  });
});
