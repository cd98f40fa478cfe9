// Test helper: the headless server on a real engine worker, with a throwaway renderer folder,
// and the few ways the server tests talk to it (a contract call, a raw POST, an events socket).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { EngineHost } from '../../jobs/host.js';
import { testEngine } from '../../testing/engine.js';
import { startServer, type RunningServer } from '../server.js';

export interface TestServer {
  engine: EngineHost;
  server: RunningServer;
  token: string;
  port: number;
  /** http://127.0.0.1:port, no trailing slash. */
  base: string;
  /** The headers of a well-behaved API client: JSON body, bearer token. */
  bearer: Record<string, string>;
  /** POSTs `body` as given (a string, so tests can send malformed JSON) with `headers`. */
  post(path: string, body: string, headers?: Record<string, string>): Promise<Response>;
  /** One contract call with the bearer token; the body is parsed JSON, checked field by field. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call(method: string, params: unknown, id?: string): Promise<{ status: number; body: any }>;
  /** An open /api/events socket (token in the query) and the events it has received so far. */
  events<T = { id: string }>(): Promise<{ socket: WebSocket; events: T[] }>;
  /** The session cookie (`name=value`) the page sets when opened with ?token=. */
  cookie(): Promise<string>;
  close(): Promise<void>;
}

/** Starts engine and server; the page served is a one-line index.html titled "ui". */
export async function startTestServer(token: string): Promise<TestServer> {
  const ui = mkdtempSync(join(tmpdir(), 'eora-ui-'));
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>ui</title>');
  const engine = testEngine();
  const server = await startServer({ engine, rendererDir: ui, token });
  const base = `http://127.0.0.1:${server.port}`;
  const bearer = { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` };
  let calls = 0;
  const post = (path: string, body: string, headers: Record<string, string> = bearer) => fetch(`${base}${path}`, { method: 'POST', headers, body });
  return {
    engine,
    server,
    token,
    port: server.port,
    base,
    bearer,
    post,
    async call(method, params, id = `r${++calls}`) {
      const response = await post('/api/call', JSON.stringify({ id, method, params }));
      return { status: response.status, body: await response.json() };
    },
    async events<T>() {
      const socket = new WebSocket(`ws://127.0.0.1:${server.port}/api/events?token=${token}`);
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      const events: T[] = [];
      socket.on('message', (data) => events.push(JSON.parse(String(data)) as T));
      return { socket, events };
    },
    async cookie() {
      const page = await fetch(`${base}/?token=${token}`);
      return page.headers.get('set-cookie')!.split(';')[0]!;
    },
    async close() {
      await server.close();
      await engine.close();
      rmSync(ui, { recursive: true, force: true });
    },
  };
}
