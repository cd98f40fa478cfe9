// Issue #16 against a live server: malformed WebSocket frames, foreign Origins, wrong
// Content-Types and absurdly nested bodies each end one request or connection, never the server
// or a job running in it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { jsonDepth } from './server.js';
import { closeCode, malformedFrames, rawUpgrade } from './testing/raw.js';
import { startTestServer, type TestServer } from './testing/start-test-server.js';

const token = 'hardening-token-0123456789';
const smallJob = { method: 'model.perplexity', params: { seqLen: 32, maxTokens: 128 } };
let t: TestServer;
beforeAll(async () => void (t = await startTestServer(token)));
afterAll(() => t.close());

const infoCall = JSON.stringify({ id: 'i1', method: 'engine.info', params: {} });

const errorOf = async (response: Response) => ((await response.json()) as { error: { message: string } }).error;

describe('malformed WebSocket frames', () => {
  it('each of the six kinds closes only its connection, with the right code, while a job runs on', async () => {
    const alone = await t.engine.call(smallJob.method, smallJob.params);
    const { socket: listener, events } = await t.events();

    const job = t.post('/api/call', JSON.stringify({ id: 'frames-job', ...smallJob }));
    for (const bad of malformedFrames(4096)) {
      const { status, raw } = await rawUpgrade(t.port, `/api/events?token=${token}`);
      expect(status, bad.name).toBe(101);
      raw.socket.write(bad.bytes);
      await raw.ended;
      expect(closeCode(raw.received()), bad.name).toBe(bad.code);
    }
    const response = await job;
    expect(response.status).toBe(200);
    const { result } = (await response.json()) as { result: object };
    expect({ ...result, seconds: 0 }).toEqual({ ...(alone as object), seconds: 0 });
    // The other connection is untouched and still gets progress.
    expect(listener.readyState).toBe(WebSocket.OPEN);
    await expect.poll(() => events.some((e) => e.id === 'frames-job'), { timeout: 240_000 }).toBe(true); // another connection than the response
    listener.close();
    expect((await t.post('/api/call', infoCall)).status).toBe(200);
  });
});

describe('Origin and Content-Type', () => {
  it('refuses a POST from a foreign Origin even with the session cookie (403), accepts our own', async () => {
    const session = await t.cookie();
    for (const foreign of ['http://evil.example', `http://127.0.0.1:${t.port + 1}`, 'null']) {
      const response = await t.post('/api/call', infoCall, { Cookie: session, Origin: foreign, 'Content-Type': 'application/json' });
      expect(response.status, foreign).toBe(403);
      expect((await errorOf(response)).message).toContain('Origin');
    }
    expect((await t.post('/api/call', infoCall, { Cookie: session, Origin: t.base, 'Content-Type': 'application/json' })).status).toBe(200);
    expect((await t.post('/api/call', infoCall, { Cookie: session, Origin: `http://localhost:${t.port}`, 'Content-Type': 'application/json' })).status).toBe(200);
  });

  it('without an Origin, the bearer token is required (the cookie alone is not enough)', async () => {
    expect((await t.post('/api/call', infoCall)).status).toBe(200);
    expect((await t.post('/api/call', infoCall, { Cookie: await t.cookie(), 'Content-Type': 'application/json' })).status).toBe(403);
  });

  it('refuses a cancel from a foreign Origin too', async () => {
    const body = JSON.stringify({ id: 'x', method: 'cancel', params: null });
    expect((await t.post('/api/cancel', body, { ...t.bearer, Origin: 'http://evil.example' })).status).toBe(403);
  });

  it('requires application/json on POSTs (415), naming the type it got', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const response = await t.post('/api/call', infoCall, { Authorization: `Bearer ${token}`, 'Content-Type': type });
      expect(response.status, type).toBe(415);
      expect((await errorOf(response)).message).toContain(type.split(';')[0]);
    }
    expect((await t.post('/api/call', infoCall, { ...t.bearer, 'Content-Type': 'application/json; charset=utf-8' })).status).toBe(200);
  });

  it('refuses a WebSocket upgrade from a foreign Origin (403) and accepts our own', async () => {
    const foreign = await rawUpgrade(t.port, `/api/events?token=${token}`, { Origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    foreign.raw.socket.destroy();
    const session = await t.cookie();
    const cookieOnly = await rawUpgrade(t.port, '/api/events', { Cookie: session, Origin: `http://127.0.0.1:${t.port + 1}` });
    expect(cookieOnly.status).toBe(403);
    cookieOnly.raw.socket.destroy();
    const own = await rawUpgrade(t.port, '/api/events', { Cookie: session, Origin: t.base });
    expect(own.status).toBe(101);
    own.raw.socket.destroy();
  });
});

describe('request bodies', () => {
  it('a 10,000-level nested JSON body is a 400 naming the depth, and the server answers after it', async () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const response = await t.post('/api/call', JSON.stringify({ id: 'd1', method: 'engine.info', params: {} }).replace('{}', deep));
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toMatch(/nested deeper than 64 levels/);
    expect((await t.post('/api/call', infoCall)).status).toBe(200);
  });

  it('jsonDepth counts brackets outside strings only', () => {
    expect(jsonDepth('{"a":[1,[2]]}')).toBe(3);
    expect(jsonDepth('{"a":"[[[[\\"[["}')).toBe(1);
    expect(jsonDepth('1')).toBe(0);
  });
});
