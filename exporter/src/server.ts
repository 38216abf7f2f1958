import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from './log.js';
import type { MetricsRenderer } from './metrics.js';
import type { Sampler } from './sampler.js';
import { errorMessage } from './errors.js';
import { BasicAuth, clientCertAllowed, type WebConfig } from './webconfig.js';

const INDEX = `<!doctype html><html><head><title>PerfWatch exporter</title></head>
<body><h1>PerfWatch exporter</h1><p><a href="/metrics">/metrics</a> &middot; <a href="/health">/health</a></p></body></html>
`;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

/** Prometheus asks for OpenMetrics in Accept when it wants it; anything else gets text 0.0.4. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return !!accept && /application\/openmetrics-text/i.test(accept);
}

function acceptsGzip(header: string | undefined): boolean {
  return !!header && /(^|,)\s*gzip\s*(;\s*q=(?!0(\.0*)?\s*($|,))[\d.]+)?\s*($|,)/i.test(header);
}

/** `web`: PERFWATCH_WEB_CONFIG_FILE (webconfig.ts): TLS, client certificates, basic auth, headers. */
export function createExporterServer(deps: { sampler: Sampler; renderer: MetricsRenderer; log: Logger; web?: WebConfig }): Server {
  const { sampler, renderer, log, web } = deps;
  const auth = new BasicAuth(web?.users ?? new Map());

  async function metrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const snap = await sampler.current();
    // rendered (and gzipped) once per snapshot: scrapes between two collections get the same bytes
    const page = await renderer.page(snap, wantsOpenMetrics(req.headers.accept));
    const headers: Record<string, string | number> = { 'content-type': page.contentType, vary: 'Accept, Accept-Encoding' };
    let payload = page.body;
    if (acceptsGzip(req.headers['accept-encoding'])) {
      payload = await page.gzip();
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = payload.length;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : payload);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    for (const [k, v] of Object.entries(web?.headers ?? {})) res.setHeader(k, v);
    if (!clientCertAllowed(web, req)) return sendError(res, 403, 'CLIENT_CERT', 'this exporter needs a client certificate its client CA signed');
    if (!auth.enabled) return route(req, res);
    auth.check(req).then(
      (ok) => {
        if (ok) return route(req, res);
        res.setHeader('www-authenticate', 'Basic realm="perfwatch"');
        sendError(res, 401, 'UNAUTHORIZED', 'wrong or missing user name and password');
      },
      (err) => {
        log.error({ err: errorMessage(err) }, 'checking basic auth failed');
        sendError(res, 500, 'AUTH_FAILED', 'checking the password failed; see the exporter log');
      },
    );
  }

  // http.Server and https.Server share the request API; typed as the former for the callers
  return (web?.tls ? createHttpsServer(web.tls, handle) : createServer(handle)) as Server;

  function route(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendError(res, 405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed; use GET`);
    }
    switch (url.pathname) {
      case '/metrics':
        metrics(req, res).catch((err) => {
          log.error({ err: errorMessage(err) }, 'rendering /metrics failed');
          if (!res.headersSent) sendError(res, 500, 'RENDER_FAILED', 'rendering metrics failed; see the exporter log');
          else res.destroy();
        });
        return;
      case '/health':
        return sendJson(res, 200, { status: 'ok', lastSnapshot: sampler.last ? new Date(sampler.last.ts).toISOString() : null });
      case '/':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(INDEX);
        return;
      default:
        return sendError(res, 404, 'NOT_FOUND', `no route ${url.pathname}; try /metrics or /health`);
    }
  }
}
