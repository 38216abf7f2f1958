/** What the Status screen reads today: /health, /ready and the api's build info (/metrics). */
import { ApiRequestError, errorFrom, isAbort, requestText } from './http.js';

export interface Probe {
  ok: boolean;
  /** ms from request to answer. */
  ms: number;
  /** /ready: the schema version when ready. */
  schemaVersion?: number;
  /** why not: the API's message, or that it could not be reached. */
  message?: string;
  code?: string;
}

async function probe(path: string, signal?: AbortSignal): Promise<Probe> {
  const t0 = performance.now();
  let res: Response;
  try {
    res = await fetch(path, { signal, cache: 'no-store', headers: { accept: 'application/json' } });
  } catch (err) {
    if (isAbort(err)) throw err;
    return { ok: false, ms: performance.now() - t0, code: 'NETWORK', message: 'no answer: the api cannot be reached' };
  }
  const ms = performance.now() - t0;
  if (!res.ok) {
    const e = await errorFrom(res);
    return { ok: false, ms, code: e.code, message: e.message };
  }
  const body = (await res.json()) as { schemaVersion?: number };
  return { ok: true, ms, ...(typeof body.schemaVersion === 'number' ? { schemaVersion: body.schemaVersion } : {}) };
}

export const health = (signal?: AbortSignal) => probe('/health', signal);
export const ready = (signal?: AbortSignal) => probe('/ready', signal);

export interface BuildInfo {
  version?: string;
  revision?: string;
  nodejs?: string;
}

/** perfwatch_build_info{version,revision,nodejs} from the api's /metrics. */
export async function buildInfo(signal?: AbortSignal): Promise<BuildInfo> {
  const text = await requestText('/metrics', signal);
  const line = text.split('\n').find((l) => l.startsWith('perfwatch_build_info{'));
  if (!line) throw new ApiRequestError(200, 'NO_BUILD_INFO', 'the api did not report perfwatch_build_info');
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!.replace(/\\(.)/g, '$1');
  return { version: out.version, revision: out.revision, nodejs: out.nodejs };
}
