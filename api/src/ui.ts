/**
 * The admin UI's listener (PERFWATCH_UI_PORT, 3000): the built Lit app (api/admin/dist, see
 * docs/admin.md) in front of the very express app the api port serves. The UI's fetches are then
 * same-origin: no CORS, and the httpOnly, SameSite=Strict session cookie (path /api) is sent.
 * Only GET and HEAD of the UI's own files are answered here; every other request, /api/* above
 * all, goes to the api unchanged.
 */
import { existsSync } from 'node:fs';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express, type Request, type Response } from 'express';

/** api/admin/dist, from api/src (tsx) and api/dist (node) alike. */
export const UI_DIR = fileURLToPath(new URL('../admin/dist/', import.meta.url));

/** The UI loads its own script, stylesheet and icon and talks to its own origin; nothing else. */
export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  // 'self' covers ws: to the same host in CSP 3 browsers (the live stream, part 2).
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The UI's files: the page, its icon and vite's content-hashed assets. */
const UI_PATH = /^\/(?:index\.html|favicon\.svg|assets\/[A-Za-z0-9._-]+)?$/;

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>PerfWatch admin</title>
<p>The PerfWatch admin UI is not built. Run <code>npm run build</code> (or <code>npm start</code>, which builds it) and reload.</p>
<p>The API answers on this port as on the api port: <a href="/api/openapi.json">/api/openapi.json</a>.</p></html>\n`;

function securityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', UI_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
}

/** The request listener of the UI port: the UI's files from `dir`, everything else to `api`. */
export function uiRequestListener(api: Express, dir = UI_DIR): RequestListener {
  const assets = join(dir, 'assets');
  const files = express.static(dir, {
    index: 'index.html',
    redirect: false,
    dotfiles: 'ignore',
    setHeaders(res, path) {
      securityHeaders(res);
      // Assets carry a content hash in their name; the page must be revalidated to pick new ones.
      res.setHeader('Cache-Control', path.includes(assets) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !UI_PATH.test(path)) {
      api(req, res);
      return;
    }
    if ((path === '/' || path === '/index.html') && !existsSync(join(dir, 'index.html'))) {
      securityHeaders(res);
      res.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : NOT_BUILT);
      return;
    }
    files(req as Request, res as Response, (err?: unknown) => {
      if (err === undefined) {
        // Not one of the UI's files (an old asset name): the api's JSON 404.
        api(req, res);
        return;
      }
      const status = (err as { status?: number }).status;
      res.statusCode = typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
      res.end();
    });
  };
}
