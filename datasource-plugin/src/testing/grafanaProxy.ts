/**
 * What Grafana's server does for this plugin, for tests (no Grafana server runs here): a
 * backendSrv whose fetch goes over real HTTP through a data source proxy built from this plugin's
 * plugin.json `routes`, as Grafana's pkg/api/pluginproxy does:
 * - `<instanceSettings.url>/<route.path>/<rest>` goes to the route's url (a template over the
 *   datasource's jsonData) + `/<rest>`, with the route's headers (templates over jsonData and the
 *   decrypted secureJsonData) set server-side;
 * - an upstream 401 becomes 400 "Authentication to data source failed" (Grafana does this so the
 *   browser session is not logged out); an unreachable upstream is 502 Bad Gateway;
 * - a non-2xx answer rejects with a FetchError ({status, statusText, data}), JSON bodies parsed,
 *   as Grafana's backendSrv does.
 * Every request the plugin hands to fetch is recorded (to check what leaves the browser).
 */
import { request as httpRequest } from 'node:http';
import { DataSourceInstanceSettings } from '@grafana/data';
import { BackendSrv, BackendSrvRequest, FetchError, FetchResponse } from '@grafana/runtime';
import { Observable, from } from 'rxjs';
import pluginJson from '../plugin.json';
import { PerfWatchOptions, PerfWatchSecureOptions } from '../types';

export interface ProxiedDatasource {
  settings: DataSourceInstanceSettings<PerfWatchOptions>;
  secureJsonData: PerfWatchSecureOptions;
}

interface Route {
  path: string;
  url: string;
  headers?: Array<{ name: string; content: string }>;
}

/** Grafana's route templates: {{ .JsonData.x }} and {{ .SecureJsonData.x }} (missing: empty). */
export function renderRouteTemplate(template: string, ds: ProxiedDatasource): string {
  return template.replace(
    /\{\{\s*\.(JsonData|SecureJsonData)\.([A-Za-z0-9_]+)\s*\}\}/g,
    (_, where: string, key: string) => {
      const source: Record<string, unknown> =
        where === 'JsonData' ? { ...ds.settings.jsonData } : { ...ds.secureJsonData };
      const v = source[key];
      return v === undefined || v === null ? '' : String(v);
    }
  );
}

interface RawResponse {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: string;
}

function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          h[k] = Array.isArray(v) ? v.join(', ') : String(v ?? '');
        }
        resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: h, body: text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export class GrafanaProxy {
  readonly routes: Route[] = (pluginJson as { routes?: Route[] }).routes ?? [];
  /** every request the plugin handed to fetch, as it handed it. */
  readonly requests: BackendSrvRequest[] = [];
  /** what the proxy sent upstream (url and headers), in order. */
  readonly upstream: Array<{ url: string; headers: Record<string, string> }> = [];
  private readonly datasources = new Map<string, ProxiedDatasource>();

  add(ds: ProxiedDatasource): void {
    this.datasources.set(ds.settings.url!, ds);
  }

  /** The proxy's answer to one request of the plugin (status, headers, body text). */
  async handle(options: BackendSrvRequest): Promise<RawResponse> {
    const url = options.url;
    const ds = [...this.datasources.entries()].find(([prefix]) => url.startsWith(`${prefix}/`));
    if (!ds) {
      return { status: 404, statusText: 'Not Found', headers: {}, body: 'no datasource' };
    }
    const proxyPath = url.slice(ds[0].length + 1);
    // Grafana: the first route whose path is a prefix of the proxied path.
    const route = this.routes.find((r) => proxyPath.startsWith(r.path));
    if (!route) {
      return { status: 404, statusText: 'Not Found', headers: {}, body: 'no route' };
    }
    const target = renderRouteTemplate(route.url, ds[1]).replace(/\/+$/, '') + proxyPath.slice(route.path.length);
    const headers: Record<string, string> = { 'user-agent': 'Grafana/12.4.0' };
    for (const [k, v] of Object.entries((options.headers ?? {}) as Record<string, string>)) {
      headers[k.toLowerCase()] = v;
    }
    for (const h of route.headers ?? []) {
      headers[h.name.toLowerCase()] = renderRouteTemplate(h.content, ds[1]);
    }
    let body: string | undefined;
    if (options.data !== undefined) {
      body = typeof options.data === 'string' ? options.data : JSON.stringify(options.data);
      headers['content-type'] ??= 'application/json';
    }
    this.upstream.push({ url: target, headers });
    let res: RawResponse;
    try {
      res = await send(target, options.method ?? 'GET', headers, body);
    } catch {
      return { status: 502, statusText: 'Bad Gateway', headers: {}, body: '' };
    }
    if (res.status === 401) {
      return {
        status: 400,
        statusText: 'Bad Request',
        headers: { 'content-type': 'text/plain' },
        body: 'Authentication to data source failed',
      };
    }
    return res;
  }

  private async fetchOnce<T>(options: BackendSrvRequest): Promise<FetchResponse<T>> {
    this.requests.push(options);
    const res = await this.handle(options);
    let data: unknown = res.body;
    if ((res.headers['content-type'] ?? '').includes('json') && res.body) {
      data = JSON.parse(res.body);
    }
    if (res.status < 200 || res.status >= 300) {
      const err: FetchError = { status: res.status, statusText: res.statusText, data, config: options };
      throw err;
    }
    return {
      data: data as T,
      status: res.status,
      statusText: res.statusText,
      ok: true,
      headers: res.headers as unknown as Headers,
      redirected: false,
      type: 'basic',
      url: options.url,
      config: options,
    };
  }

  /** The BackendSrv the plugin gets from getBackendSrv() (fetch is all it uses). */
  backendSrv(): BackendSrv {
    const fetch = <T>(options: BackendSrvRequest): Observable<FetchResponse<T>> => from(this.fetchOnce<T>(options));
    return { fetch } as unknown as BackendSrv;
  }
}
