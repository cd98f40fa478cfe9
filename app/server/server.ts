// The headless workbench: the renderer over HTTP, the engine contract as POST /api/call, and
// progress events over a WebSocket at /api/events. Listens on 127.0.0.1 only.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ContractError, parseCallRequest, toWireError, type CallResponse, type ProgressEvent } from '../contract/index.js';
import type { EngineHost } from '../jobs/host.js';
import { authorize, cookieName, hostAllowed, newToken, originAllowed } from './auth.js';
import { serveStatic } from './static.js';

export interface ServerOptions {
  engine: EngineHost;
  rendererDir: string;
  port?: number; // 0 = any free port
  token?: string;
}

export interface RunningServer {
  url: string; // with the token, for the user to open
  port: number;
  token: string;
  close(): Promise<void>;
}

const maxBody = 1 << 20;
/** Deeper JSON than any contract call needs; refused before parsing so no parser or validator recurses on it. */
const maxJsonDepth = 64;

const statusOf: Record<string, number> = { invalid_params: 400, unknown_method: 404, cancelled: 409, unauthorized: 401, engine: 500 };

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const token = options.token ?? newToken();
  const sockets = new Set<WebSocket>();
  let port = 0;

  const broadcast = (event: ProgressEvent) => {
    const data = JSON.stringify(event);
    for (const socket of sockets) socket.send(data);
  };

  async function handleApi(request: IncomingMessage, response: ServerResponse, path: string) {
    if (request.method !== 'POST') return send(response, 405, { ok: false, error: { code: 'invalid_params', message: 'use POST' } });
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      return send(response, 415, { ok: false, error: { code: 'invalid_params', message: `${path}: Content-Type must be application/json (got ${JSON.stringify(type || 'none')})` } });
    }
    let envelope;
    try {
      const body = await readBody(request);
      if (jsonDepth(body) > maxJsonDepth) throw new ContractError('invalid_params', `${path}: request body nested deeper than ${maxJsonDepth} levels`);
      envelope = parseCallRequest(JSON.parse(body));
    } catch (error) {
      return send(response, 400, { ok: false, error: { code: 'invalid_params', message: (error as Error).message } });
    }
    if (path === '/api/cancel') {
      options.engine.cancel(envelope.id);
      return send(response, 200, { ok: true, result: null });
    }
    const { id, method, params } = envelope;
    try {
      const result = await options.engine.call(String(method), params, { id, onProgress: (progress) => broadcast({ id, progress }) });
      send(response, 200, { ok: true, result });
    } catch (error) {
      const wire = toWireError(error);
      send(response, statusOf[wire.code] ?? 500, { ok: false, error: wire });
    }
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (!hostAllowed(request, port)) return send(response, 403, { ok: false, error: { code: 'unauthorized', message: 'bad Host header' } });
    const credential = authorize(request, url, token);
    if (!credential) {
      return send(response, 401, { ok: false, error: { code: 'unauthorized', message: 'missing or wrong token: open the URL printed by `eora serve`' } });
    }
    if (request.method !== 'GET' && request.method !== 'HEAD' && !originAllowed(request, port, credential)) {
      return send(response, 403, { ok: false, error: { code: 'unauthorized', message: `foreign Origin ${JSON.stringify(request.headers.origin ?? null)} refused` } });
    }
    if (credential === 'query') {
      response.setHeader('Set-Cookie', `${cookieName}=${token}; HttpOnly; SameSite=Strict; Path=/`);
    }
    if (url.pathname === '/api/call' || url.pathname === '/api/cancel') {
      handleApi(request, response, url.pathname).catch((error) => send(response, 500, { ok: false, error: toWireError(error) }));
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, { ok: false, error: { code: 'invalid_params', message: 'method not allowed' } });
    serveStatic(options.rendererDir, url.pathname, response).catch((error) => send(response, 500, { ok: false, error: toWireError(error) }));
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const credential = authorize(request, url, token);
    if (url.pathname !== '/api/events' || !hostAllowed(request, port) || !credential) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    if (!originAllowed(request, port, credential)) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      // A malformed frame (too big, bad UTF-8, unmasked, bad opcode/close code/RSV bits): `ws`
      // has already started the closing handshake with the right code (1002/1007/1009) and
      // ends only this connection. Without a listener the error would be uncaught and kill
      // the server with every job in it.
      ws.on('error', () => sockets.delete(ws));
    });
  });
  // Errors on a raw socket before the upgrade completes (client reset) must not kill us either.
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    async close() {
      for (const socket of sockets) socket.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(response: ServerResponse, status: number, body: CallResponse) {
  if (response.headersSent) return;
  response.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  response.end(JSON.stringify(body));
}

/** Maximum nesting of [ and { outside strings, by one linear scan. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBody) {
        reject(new ContractError('invalid_params', `request body over ${maxBody} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
