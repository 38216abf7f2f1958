/**
 * The pieces every test file needs: where the real api of test/globalSetup.js listens, what it
 * was seeded with, and DataSource instances wired the way Grafana wires them (instance settings
 * with the proxy URL, backendSrv through the data source proxy, a scenes TemplateSrv).
 */
import { readFileSync } from 'node:fs';
import { DataQueryRequest, DataSourceInstanceSettings, DataSourcePluginMeta, dateTime, PluginType } from '@grafana/data';
import { setBackendSrv, setTemplateSrv } from '@grafana/runtime';
import { DataSource } from '../datasource';
import pluginJson from '../plugin.json';
import { PerfWatchOptions, PerfWatchQuery } from '../types';
import { GrafanaProxy } from './grafanaProxy';
import { sceneTemplateSrv, TestVariable } from './templateSrv';

export interface TestApi {
  url: string;
  token: string;
  /** an api whose database is unreachable. */
  downUrl: string;
  schema: string;
  seedFile: string;
  intervalMs: number;
  /** the seeded range [from, to) of alpha and beta. */
  from: number;
  to: number;
  hosts: string[];
  /** beta's outage: its last snapshot before and first after. */
  gap: { host: string; from: number; to: number };
  retentionAt: number;
}

export function testApi(): TestApi {
  const raw = process.env.PERFWATCH_PLUGIN_TEST_API;
  if (!raw) {
    throw new Error(
      'PERFWATCH_PLUGIN_TEST_API is not set: run the tests through jest (test/globalSetup.js starts the api)'
    );
  }
  return JSON.parse(raw) as TestApi;
}

/** The snapshots the api was seeded with (docs/snapshot.md), as written. */
export interface SeedSnapshot {
  host: string;
  ts: number;
  cpu: { t: Record<string, number[]>; ctxt: number };
  mem: Record<string, number>;
  load: { l: [number, number, number] };
  disk: Record<string, number[]>;
}

export function seededSnapshots(): SeedSnapshot[] {
  return (JSON.parse(readFileSync(testApi().seedFile, 'utf8')) as { snapshots: SeedSnapshot[] }).snapshots;
}

let next = 1;
// One proxy for the whole test file, as one Grafana server serves every datasource.
const proxy = new GrafanaProxy();

export interface Wired {
  ds: DataSource;
  proxy: GrafanaProxy;
}

/** A DataSource as Grafana makes it for these settings; `variables` become the dashboard's. */
export function wire(opts: { apiUrl?: string; token?: string; variables?: TestVariable[] } = {}): Wired {
  const id = next++;
  const uid = `perfwatch-${id}`;
  const settings: DataSourceInstanceSettings<PerfWatchOptions> = {
    // still a required field of the type in Grafana 12
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    id,
    uid,
    type: pluginJson.id,
    name: 'PerfWatch',
    access: 'proxy',
    readOnly: false,
    url: `/api/datasources/proxy/uid/${uid}`,
    jsonData: opts.apiUrl === undefined ? {} : { apiUrl: opts.apiUrl },
    meta: {
      id: pluginJson.id,
      name: pluginJson.name,
      type: PluginType.datasource,
    } as DataSourcePluginMeta<PerfWatchOptions>,
  };
  proxy.add({ settings, secureJsonData: opts.token === undefined ? {} : { apiToken: opts.token } });
  setBackendSrv(proxy.backendSrv());
  setTemplateSrv(sceneTemplateSrv(opts.variables ?? []));
  return { ds: new DataSource(settings), proxy };
}

let nextRequest = 0;

/**
 * A panel's query request over [from, to) as Grafana sends it: targets get refIds A, B, ... (unless
 * they name one) and empty hosts and matchers; the interval defaults to the seeded snapshots' step
 * and maxDataPoints to one point per step.
 */
export function queryRequest(
  targets: Array<Partial<PerfWatchQuery>>,
  from: number,
  to: number,
  opts: { maxDataPoints?: number; intervalMs?: number } = {}
): DataQueryRequest<PerfWatchQuery> {
  const step = opts.intervalMs ?? testApi().intervalMs;
  return {
    requestId: `Q${++nextRequest}`,
    interval: `${step / 1000}s`,
    intervalMs: step,
    maxDataPoints: opts.maxDataPoints ?? Math.round((to - from) / step),
    range: { from: dateTime(from), to: dateTime(to), raw: { from: dateTime(from), to: dateTime(to) } },
    scopedVars: {},
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), hosts: [], matchers: [], metric: '', ...t })),
    timezone: 'utc',
    app: 'dashboard',
    startTime: Date.now(),
  };
}
