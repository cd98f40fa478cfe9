// Serves the built renderer. Only files under the root, only GET/HEAD, fixed MIME types.
import { readFile, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const mimeTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export async function serveStatic(root: string, urlPath: string, response: ServerResponse): Promise<void> {
  const relative = decodeURIComponent(urlPath === '/' ? '/index.html' : urlPath);
  const file = normalize(join(root, relative));
  if (!file.startsWith(root + sep)) return notFound(response);
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) return notFound(response);
  response.writeHead(200, {
    'Content-Type': mimeTypes[extname(file)] ?? 'application/octet-stream',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(await readFile(file));
}

function notFound(response: ServerResponse) {
  response.writeHead(404, { 'Content-Type': 'text/plain' });
  response.end('not found');
}
