// Jupyter-style protection for the headless server: a random token printed at start. The
// browser presents it once in the URL (?token=…) and gets an HttpOnly cookie; API clients send
// `Authorization: Bearer …`. The Host header must name the loopback address we listen on, which
// stops DNS-rebinding pages from talking to us even if they guess the port.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const cookieName = 'eora_token';

export function newToken(): string {
  return randomBytes(24).toString('hex');
}

function sameToken(given: string | undefined | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(request: IncomingMessage): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === cookieName) return value.join('=');
  }
  return undefined;
}

/** Which credential (if any) authorizes this request. */
export function authorize(request: IncomingMessage, url: URL, token: string): 'query' | 'header' | 'cookie' | null {
  if (sameToken(url.searchParams.get('token'), token)) return 'query';
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ') && sameToken(header.slice(7), token)) return 'header';
  if (sameToken(cookieToken(request), token)) return 'cookie';
  return null;
}

/**
 * Cross-site request protection (Jupyter's and VS Code's rule): a browser always sends Origin on
 * POSTs and WebSocket upgrades, so a present Origin must be our own. Other pages on 127.0.0.1
 * (other ports) are same-site and get our SameSite cookie, so the cookie alone proves nothing.
 * An absent Origin means a non-browser client, which must then present the token itself
 * (header or query), not a cookie.
 */
export function originAllowed(request: IncomingMessage, port: number, credential: 'query' | 'header' | 'cookie'): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return credential !== 'cookie';
  return origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
}

export function hostAllowed(request: IncomingMessage, port: number): boolean {
  const host = request.headers.host;
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}
