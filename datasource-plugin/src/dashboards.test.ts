/**
 * The repository's provisioned history dashboards (dashboards/perfwatch/*.json) through this
 * plugin against the real api: their $host variable query, every panel's targets and their
 * annotations run without an error, with $host at All and at one host.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AnnotationQuery, DataFrame, DataQueryRequest } from '@grafana/data';
import { PerfWatchQuery } from './types';
import { queryRequest, testApi, wire } from './testing/setup';
import { TestVariable } from './testing/templateSrv';

const api = testApi();
const DIR = join(__dirname, '..', '..', 'dashboards', 'perfwatch');
const UID = 'perfwatch';

interface Panel {
  title?: string;
  type: string;
  maxDataPoints?: number;
  datasource?: { uid?: string };
  targets?: Array<PerfWatchQuery & { datasource?: { uid?: string } }>;
  panels?: Panel[];
}

interface Dashboard {
  title: string;
  panels: Panel[];
  templating: {
    list: Array<{
      name: string;
      type: string;
      query: string | { query: string };
      datasource?: { uid?: string };
      multi?: boolean;
      includeAll?: boolean;
    }>;
  };
  annotations?: { list: Array<AnnotationQuery<PerfWatchQuery> & { datasource?: { uid?: string } }> };
}

const dashboards: Array<[string, Dashboard]> = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => [f, JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Dashboard]);

function historyPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [
    ...(p.targets?.some((t) => (t.datasource?.uid ?? p.datasource?.uid) === UID) ? [p] : []),
    ...historyPanels(p.panels ?? []),
  ]);
}

function request(targets: PerfWatchQuery[], maxDataPoints = 1000): DataQueryRequest<PerfWatchQuery> {
  return queryRequest(targets, api.from, api.to, { maxDataPoints, intervalMs: 5000 });
}

it('finds the history dashboards', () => {
  expect(dashboards.length).toBeGreaterThan(0);
});

describe.each(dashboards)('%s', (_file, dashboard) => {
  async function hostVariable(): Promise<Omit<TestVariable, 'current'>> {
    const v = dashboard.templating.list.find((x) => x.name === 'host')!;
    expect(v.datasource?.uid).toBe(UID);
    const { ds } = wire({ apiUrl: api.url, token: api.token });
    const values = (await ds.metricFindQuery(typeof v.query === 'string' ? v.query : v.query.query)).map((x) => x.text);
    expect(values).toEqual(api.hosts);
    return { name: 'host', values, multi: v.multi, includeAll: v.includeAll };
  }

  it.each([
    ['All', '$__all'],
    ['one host', 'beta'],
  ])('every history panel answers with $host = %s', async (_what, current) => {
    const host = await hostVariable();
    const { ds } = wire({
      apiUrl: api.url,
      token: api.token,
      variables: [{ ...host, current: host.multi ? [current].flat() : current }],
    });
    const panels = historyPanels(dashboard.panels);
    expect(panels.length).toBeGreaterThan(0);
    for (const panel of panels) {
      const targets = panel.targets!.filter((t) => (t.datasource?.uid ?? panel.datasource?.uid) === UID);
      const res = await ds.query(request(targets, panel.maxDataPoints));
      // the panel title in the failure message says which one broke
      expect({ panel: panel.title, errors: res.errors ?? [] }).toEqual({ panel: panel.title, errors: [] });
      const refIds = new Set((res.data as DataFrame[]).map((f) => f.refId));
      expect([...refIds].sort()).toEqual(targets.map((t) => t.refId).sort());
      if (current !== '$__all') {
        for (const f of res.data as DataFrame[]) {
          const hostLabel = f.fields[1]?.labels?.host;
          // aggregated away or a single host's series
          expect([undefined, current]).toContain(hostLabel);
        }
      }
    }
  });

  it('its annotations run', async () => {
    const host = await hostVariable();
    const { ds } = wire({ apiUrl: api.url, token: api.token, variables: [{ ...host, current: ['$__all'] }] });
    const mine = (dashboard.annotations?.list ?? []).filter((a) => a.datasource?.uid === UID);
    expect(mine.length).toBeGreaterThan(0);
    for (const a of mine) {
      const prepared = ds.annotations!.prepareAnnotation!(a);
      const res = await ds.query(request([prepared.target as PerfWatchQuery]));
      expect(res.errors ?? []).toEqual([]);
      const titles = (res.data[0] as DataFrame).fields.find((f) => f.name === 'title')!.values;
      if (((prepared.target as PerfWatchQuery).kinds ?? ['gap']).includes('gap')) {
        expect(titles).toContain('No data from beta');
      }
    }
  });
});
