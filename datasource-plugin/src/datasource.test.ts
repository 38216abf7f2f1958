/**
 * The DataSource against the real PerfWatch api (test/globalSetup.js: real PostgreSQL, seeded
 * snapshots), through the data source proxy built from plugin.json, with dashboard variables
 * interpolated by @grafana/scenes. Expected values are computed from the seeded snapshots.
 */
import { DataFrame, Field, FieldType } from '@grafana/data';
import pluginJson from './plugin.json';
import { ROUTE_PATH } from './api';
import { ANNOTATIONS_QUERY_TYPE, ApiQueryRequest, PerfWatchQuery } from './types';
import { queryRequest as request, seededSnapshots, SeedSnapshot, testApi, wire } from './testing/setup';
import { TestVariable } from './testing/templateSrv';

const api = testApi();
const seed = seededSnapshots();
const STEP = api.intervalMs;

function snapshotsOf(host: string): Map<number, SeedSnapshot> {
  return new Map(seed.filter((s) => s.host === host).map((s) => [s.ts, s]));
}

const TEN_MINUTES = 10 * 60_000;
/** A rate's window at these steps: a minute (four of Grafana's default scrape interval). */
const RATE_WINDOW = 60_000;

/**
 * Prometheus's rate over (t - 1m, t] of samples every STEP: the increase from the first sample in
 * the window (t - 55 s) to t, extrapolated by the 5 s to the window's start (under 1.1 intervals):
 * increase x 60 / 55 over 60 s. Undefined where the window does not hold a full minute of samples.
 */
function rateAt(value: (s: SeedSnapshot) => number, snaps: Map<number, SeedSnapshot>, t: number): number | undefined {
  const first = snaps.get(t - RATE_WINDOW + STEP);
  const cur = snaps.get(t);
  if (!first || !cur) {
    return undefined;
  }
  return (value(cur) - value(first)) / ((RATE_WINDOW - STEP) / 1000);
}

function timeField(f: DataFrame): Field {
  return f.fields.find((x) => x.type === FieldType.time)!;
}
function valueField(f: DataFrame): Field {
  return f.fields.find((x) => x.type === FieldType.number)!;
}
function hostOf(f: DataFrame): string | undefined {
  return valueField(f).labels?.host;
}
/** The body the plugin POSTed to /api/v1/query (the proxy recorded it). */
function lastQueryBody(proxy: ReturnType<typeof wire>['proxy']): ApiQueryRequest {
  const r = [...proxy.requests].reverse().find((x) => x.url.endsWith('/api/v1/query'));
  return r!.data as ApiQueryRequest;
}

describe('plugin.json route and requests', () => {
  it('sends every request through the proxy route, which adds the token server-side', async () => {
    const { ds, proxy } = wire({ apiUrl: api.url, token: api.token });
    await ds.getHosts();
    const route = pluginJson.routes.find((r) => r.path === ROUTE_PATH)!;
    expect(route.url).toBe('{{ .JsonData.apiUrl }}');
    expect(route.headers).toEqual([{ name: 'Authorization', content: 'Bearer {{ .SecureJsonData.apiToken }}' }]);
    const mine = proxy.requests.filter((r) => r.url.startsWith(`${ds.proxyUrl}/`));
    expect(mine.length).toBeGreaterThan(0);
    for (const r of mine) {
      // What leaves the browser: the proxy URL, never the token.
      expect(r.url.startsWith(`${ds.proxyUrl}/${ROUTE_PATH}/`)).toBe(true);
      expect(JSON.stringify(r.headers ?? {}).toLowerCase()).not.toContain('authorization');
      expect(JSON.stringify(r)).not.toContain(api.token);
    }
    const sent = proxy.upstream[proxy.upstream.length - 1]!;
    expect(sent.url).toBe(`${api.url}/api/v1/hosts`);
    expect(sent.headers.authorization).toBe(`Bearer ${api.token}`);
  });
});

describe('query', () => {
  const from = api.from;
  const to = api.from + TEN_MINUTES;

  it('a gauge: one frame per host, times and values of the snapshots, no unit', async () => {
    const { ds } = wire({ apiUrl: api.url, token: api.token });
    const res = await ds.query(request([{ metric: 'perfwatch_load_average_1m', hosts: ['alpha'] }], from, to));
    expect(res.errors).toBeUndefined();
    expect(res.data).toHaveLength(1);
    const frame = res.data[0] as DataFrame;
    expect(frame.refId).toBe('A');
    expect(valueField(frame).labels).toEqual({ host: 'alpha' });
    expect(valueField(frame).config.unit).toBeUndefined();
    expect(valueField(frame).config.displayNameFromDS).toBe('perfwatch_load_average_1m{host="alpha"}');
    const alpha = snapshotsOf('alpha');
    const expectedTimes = [...alpha.keys()].filter((t) => t >= from && t < to).sort((a, b) => a - b);
    expect(timeField(frame).values).toEqual(expectedTimes);
    expect(valueField(frame).values).toEqual(expectedTimes.map((t) => alpha.get(t)!.load.l[0]));
  });

  it('a counter: rate per second by default (seconds per second: percentunit), legend from labels', async () => {
    const { ds } = wire({ apiUrl: api.url, token: api.token });
    const res = await ds.query(
      request(
        [
          {
            metric: 'perfwatch_cpu_seconds_total',
            hosts: ['alpha'],
            matchers: [
              { label: 'cpu', op: '=', value: '0' },
              { label: 'mode', op: '=', value: 'user' },
            ],
            legendFormat: '{{host}} cpu{{cpu}} {{mode}}',
          },
        ],
        from,
        to
      )
    );
    expect(res.errors).toBeUndefined();
    expect(res.data).toHaveLength(1);
    const frame = res.data[0] as DataFrame;
    expect(valueField(frame).config.unit).toBe('percentunit');
    expect(valueField(frame).config.displayNameFromDS).toBe('alpha cpu0 user');
    expect(frame.name).toBe('alpha cpu0 user');
    const alpha = snapshotsOf('alpha');
    const times = timeField(frame).values as number[];
    const values = valueField(frame).values as number[];
    let compared = 0;
    times.forEach((t, i) => {
      expect(alpha.get(t)).toBeDefined();
      const want = rateAt((s) => s.cpu.t['0']![0]!, alpha, t);
      if (want !== undefined) {
        expect(values[i]).toBeCloseTo(want, 9);
        compared++;
      }
    });
    expect(compared).toBeGreaterThanOrEqual(108);
  });

  it('a counter with the raw toggle: the counter value itself, in seconds', async () => {
    const { ds, proxy } = wire({ apiUrl: api.url, token: api.token });
    const res = await ds.query(
      request(
        [
          {
            metric: 'perfwatch_cpu_seconds_total',
            hosts: ['beta'],
            matchers: [
              { label: 'mode', op: '=', value: 'system' },
              { label: 'cpu', op: '=', value: '1' },
            ],
            rate: false,
          },
        ],
        from,
        to
      )
    );
    expect(lastQueryBody(proxy).targets[0]!.rate).toBe(false);
    const frame = res.data[0] as DataFrame;
    expect(valueField(frame).config.unit).toBe('s');
    const beta = snapshotsOf('beta');
    const times = timeField(frame).values as number[];
    expect(times.length).toBe(120);
    times.forEach((t, i) => expect(valueField(frame).values[i]).toBe(beta.get(t)!.cpu.t['1']![2]));
  });

  it('maps units: bytes, bytes per second, counts per second, ratios', async () => {
    const { ds } = wire({ apiUrl: api.url, token: api.token });
    const res = await ds.query(
      request(
        [
          { metric: 'perfwatch_memory_mem_available_bytes', hosts: ['alpha'] },
          {
            metric: 'perfwatch_disk_read_bytes_total',
            hosts: ['alpha'],
            matchers: [{ label: 'device', op: '=', value: 'vda' }],
          },
          { metric: 'perfwatch_system_context_switches_total', hosts: ['alpha'] },
          {
            metric: 'perfwatch_cpu_utilisation_ratio',
            hosts: ['alpha'],
            matchers: [{ label: 'cpu', op: '=', value: '0' }],
          },
        ],
        from,
        to
      )
    );
    expect(res.errors).toBeUndefined();
    const unitOf = (refId: string) => valueField((res.data as DataFrame[]).find((f) => f.refId === refId)!).config.unit;
    expect(unitOf('A')).toBe('bytes');
    expect(unitOf('B')).toBe('Bps');
    expect(unitOf('C')).toBe('cps');
    expect(unitOf('D')).toBe('percentunit');
    const alpha = snapshotsOf('alpha');
    const mem = (res.data as DataFrame[]).find((f) => f.refId === 'A')!;
    (timeField(mem).values as number[]).forEach((t, i) =>
      expect(valueField(mem).values[i]).toBe(alpha.get(t)!.mem.MemAvailable)
    );
    const ctxt = (res.data as DataFrame[]).find((f) => f.refId === 'C')!;
    let compared = 0;
    (timeField(ctxt).values as number[]).forEach((t, i) => {
      const want = rateAt((s) => s.cpu.ctxt, alpha, t);
      if (want !== undefined) {
        expect(valueField(ctxt).values[i]).toBeCloseTo(want, 6);
        compared++;
      }
    });
    expect(compared).toBeGreaterThanOrEqual(108);
  });

  it('aggregation: sum by host adds the CPUs up', async () => {
    const { ds } = wire({ apiUrl: api.url, token: api.token });
    const res = await ds.query(
      request(
        [
          {
            metric: 'perfwatch_cpu_seconds_total',
            hosts: ['alpha', 'beta'],
            matchers: [{ label: 'mode', op: '=', value: 'user' }],
            aggregation: { op: 'sum', by: ['host'] },
            legendFormat: '{{host}}',
          },
        ],
        from,
        to
      )
    );
    const frames = res.data as DataFrame[];
    expect(frames.map((f) => f.name).sort()).toEqual(['alpha', 'beta']);
    for (const f of frames) {
      expect(valueField(f).labels).toEqual({ host: hostOf(f) });
      const snaps = snapshotsOf(hostOf(f)!);
      let compared = 0;
      (timeField(f).values as number[]).forEach((t, i) => {
        const cur = snaps.get(t)!;
        const rates = Object.keys(cur.cpu.t).map((cpu) => rateAt((s) => s.cpu.t[cpu]![0]!, snaps, t));
        if (rates.every((r) => r !== undefined)) {
          expect(valueField(f).values[i]).toBeCloseTo(
            rates.reduce((a, b) => a! + b!, 0)!,
            9
          );
          compared++;
        }
      });
      expect(compared).toBeGreaterThan(0);
    }
  });

  it('passes maxDataPoints and intervalMs: the API steps to fit them', async () => {
    const { ds, proxy } = wire({ apiUrl: api.url, token: api.token });
    const res = await ds.query(
      request([{ metric: 'perfwatch_load_average_1m', hosts: ['alpha'] }], from, to, {
        maxDataPoints: 10,
        intervalMs: 1000,
      })
    );
    const body = lastQueryBody(proxy);
    expect(body.maxDataPoints).toBe(10);
    expect(body.intervalMs).toBe(1000);
    expect(body.from).toBe(from);
    expect(body.to).toBe(to);
    const frame = res.data[0] as DataFrame;
    expect(timeField(frame).values.length).toBeLessThanOrEqual(10);
    expect(timeField(frame).config.interval).toBe(60_000);
    // each point: the average of the snapshots in the minute before it (avg_over_time(...[1m]))
    const alpha = [...snapshotsOf('alpha').values()];
    (timeField(frame).values as number[]).forEach((t, i) => {
      const inside = alpha.filter((s) => s.ts > t - 60_000 && s.ts <= t).map((s) => s.load.l[0]);
      expect(valueField(frame).values[i]).toBeCloseTo(inside.reduce((a, b) => a + b, 0) / inside.length, 9);
    });
  });

  it('hidden targets and targets without a metric are not sent', async () => {
    const { ds, proxy } = wire({ apiUrl: api.url, token: api.token });
    const res = await ds.query(
      request(
        [
          { metric: 'perfwatch_load_average_1m', hosts: ['alpha'] },
          { metric: '' },
          { metric: 'perfwatch_load_average_5m', hide: true },
        ],
        from,
        to
      )
    );
    expect(lastQueryBody(proxy).targets.map((t) => t.refId)).toEqual(['A']);
    expect(res.data.map((f: DataFrame) => f.refId)).toEqual(['A']);
  });

  it("shows the API's error with its code, on the target it names", async () => {
    const { ds } = wire({ apiUrl: api.url, token: api.token });
    const res = await ds.query(
      request(
        [
          { metric: 'perfwatch_load_average_1m', hosts: ['alpha'] },
          { metric: 'perfwatch_no_such_metric' },
          { metric: 'perfwatch_nor_this' },
        ],
        from,
        to
      )
    );
    // the good target still has its data
    expect(res.data.map((f: DataFrame) => [f.refId, valueField(f).labels?.host])).toEqual([['A', 'alpha']]);
    expect(res.errors!.map((e) => e.refId)).toEqual(['B', 'C']);
    expect(res.errors![0]!.refId).toBe('B');
    expect(res.errors![0]!.status).toBe(400);
    expect(res.errors![0]!.message).toMatch(/^UNKNOWN_METRIC: target "B": .*perfwatch_no_such_metric/);

    const bad = await ds.query(
      request([{ metric: 'perfwatch_cpu_seconds_total', matchers: [{ label: 'cpu', op: '=~', value: '(' }] }], from, to)
    );
    expect(bad.errors![0]!.message).toMatch(/^INVALID_REGEX: target "A"/);
  });
});

describe('template variables', () => {
  const hosts = api.hosts;
  const target: Partial<PerfWatchQuery> = {
    metric: 'perfwatch_load_average_1m',
    hosts: ['$host'],
    legendFormat: '{{host}}',
  };
  const hostVar = (v: Partial<TestVariable>): TestVariable => ({ name: 'host', values: hosts, current: 'alpha', ...v });
  // gamma reports only in the last 10 of the 30 minutes
  const wide = { from: api.from, to: api.to };

  async function namesFor(variables: TestVariable[], t: Partial<PerfWatchQuery> = target) {
    const { ds, proxy } = wire({ apiUrl: api.url, token: api.token, variables });
    const res = await ds.query(request([t], wide.from, wide.to, { maxDataPoints: 360 }));
    expect(res.errors).toBeUndefined();
    // (a target without series still has one empty frame, for "No data")
    const withData = (res.data as DataFrame[]).filter((f) => f.length > 0);
    return { names: withData.map((f) => f.name).sort(), body: lastQueryBody(proxy) };
  }

  it('a single value', async () => {
    const { names, body } = await namesFor([hostVar({ current: 'beta' })]);
    expect(body.targets[0]!.hosts).toEqual(['beta']);
    expect(names).toEqual(['beta']);
  });

  it('several values', async () => {
    const { names, body } = await namesFor([hostVar({ current: ['alpha', 'gamma'], multi: true })]);
    expect(body.targets[0]!.hosts).toEqual(['alpha', 'gamma']);
    expect(names).toEqual(['alpha', 'gamma']);
  });

  it('All: every value of the variable; All with a custom all value (.*): every host', async () => {
    const all = await namesFor([hostVar({ current: '$__all', multi: true, includeAll: true })]);
    expect(all.body.targets[0]!.hosts).toEqual(hosts);
    expect(all.names).toEqual(hosts);
    const custom = await namesFor([hostVar({ current: '$__all', multi: true, includeAll: true, allValue: '.*' })]);
    expect(custom.body.targets[0]!.hosts).toBeUndefined();
    expect(custom.names).toEqual(hosts);
  });

  it("the host picker's All ($__all) and no hosts both mean every host", async () => {
    for (const h of [['$__all'], [], ['alpha', '$__all']]) {
      const r = await namesFor([], { ...target, hosts: h });
      expect(r.body.targets[0]!.hosts).toBeUndefined();
      expect(r.names).toEqual(hosts);
    }
  });

  it('regex matchers: multi values are escaped and joined, a single value stays a regex', async () => {
    const t: Partial<PerfWatchQuery> = {
      metric: 'perfwatch_load_average_1m',
      matchers: [{ label: 'host', op: '=~', value: '$h' }],
      legendFormat: '{{host}}',
    };
    const multi = await namesFor(
      [{ name: 'h', values: ['alpha', 'gamma', 'alph.'], current: ['alpha', 'gamma'], multi: true }],
      t
    );
    expect(multi.body.targets[0]!.matchers).toEqual([{ label: 'host', op: '=~', value: '(alpha|gamma)' }]);
    expect(multi.names).toEqual(['alpha', 'gamma']);
    // escaped: "alph." matches no host literally
    const escaped = await namesFor([{ name: 'h', values: ['alph.', 'x'], current: ['alph.'], multi: true }], t);
    expect(escaped.body.targets[0]!.matchers![0]!.value).toBe('alph\\.');
    expect(escaped.names).toEqual([]);
    // a plain (single-value) variable may hold a regex on purpose
    const single = await namesFor([{ name: 'h', values: ['alph.', 'x'], current: 'alph.' }], t);
    expect(single.names).toEqual(['alpha']);
  });

  it('= with several values becomes =~ over them', async () => {
    const t: Partial<PerfWatchQuery> = {
      metric: 'perfwatch_load_average_1m',
      matchers: [{ label: 'host', op: '!=', value: '$h' }],
      legendFormat: '{{host}}',
    };
    const r = await namesFor([{ name: 'h', values: hosts, current: ['alpha', 'beta'], multi: true }], t);
    expect(r.body.targets[0]!.matchers).toEqual([{ label: 'host', op: '!~', value: '(alpha|beta)' }]);
    expect(r.names).toEqual(['gamma']);
  });

  it('metric, group-by labels and legend format', async () => {
    const t: Partial<PerfWatchQuery> = {
      metric: '$metric',
      hosts: ['$host'],
      matchers: [{ label: 'mode', op: '=', value: '$mode' }],
      aggregation: { op: 'max', by: ['$by'] },
      legendFormat: '$mode on {{host}}/{{cpu}}',
    };
    const r = await namesFor(
      [
        { name: 'metric', values: ['perfwatch_cpu_seconds_total'], current: 'perfwatch_cpu_seconds_total' },
        hostVar({ current: 'alpha' }),
        { name: 'mode', values: ['idle', 'user'], current: 'idle' },
        { name: 'by', values: ['host', 'cpu'], current: ['host', 'cpu'], multi: true },
      ],
      t
    );
    expect(r.body.targets[0]).toEqual({
      refId: 'A',
      metric: 'perfwatch_cpu_seconds_total',
      hosts: ['alpha'],
      matchers: [{ label: 'mode', op: '=', value: 'idle' }],
      aggregation: { op: 'max', by: ['host', 'cpu'] },
    });
    expect(r.names).toEqual(['idle on alpha/0', 'idle on alpha/1']);
  });
});

describe('interpolateVariablesInQueries (Explore from a panel)', () => {
  it('replaces the variables in every field', () => {
    const { ds } = wire({
      apiUrl: api.url,
      token: api.token,
      variables: [
        { name: 'host', values: api.hosts, current: ['alpha', 'beta'], multi: true },
        { name: 'cpu', values: ['0', '1'], current: ['0', '1'], multi: true },
      ],
    });
    const [q] = ds.interpolateVariablesInQueries(
      [
        {
          refId: 'A',
          metric: 'perfwatch_cpu_seconds_total',
          hosts: ['$host'],
          matchers: [{ label: 'cpu', op: '=~', value: '$cpu' }],
          legendFormat: '$host {{cpu}}',
        },
      ],
      {}
    );
    expect(q).toEqual({
      refId: 'A',
      metric: 'perfwatch_cpu_seconds_total',
      hosts: ['alpha', 'beta'],
      matchers: [{ label: 'cpu', op: '=~', value: '(0|1)' }],
      legendFormat: 'alpha,beta {{cpu}}',
      datasource: { type: pluginJson.id, uid: ds.uid },
    });
  });
});

describe('variable queries (metricFindQuery)', () => {
  it('hosts()', async () => {
    const { ds } = wire({ apiUrl: api.url, token: api.token });
    expect((await ds.metricFindQuery('hosts()')).map((v) => v.text)).toEqual(api.hosts);
  });

  it('metrics() and metrics(<regex>)', async () => {
    const { ds } = wire({ apiUrl: api.url, token: api.token });
    const all = (await ds.metricFindQuery('metrics()')).map((v) => v.text);
    expect(all).toEqual(
      expect.arrayContaining([
        'perfwatch_cpu_seconds_total',
        'perfwatch_cpu_utilisation_ratio',
        'perfwatch_memory_mem_available_bytes',
      ])
    );
    expect((await ds.metricFindQuery('metrics(^perfwatch_load_average_)')).map((v) => v.text)).toEqual([
      'perfwatch_load_average_15m',
      'perfwatch_load_average_1m',
      'perfwatch_load_average_5m',
    ]);
  });

  it('label_values(metric, label) gives the seeded values', async () => {
    const { ds } = wire({ apiUrl: api.url, token: api.token });
    const cpus = [...new Set(seed.flatMap((s) => Object.keys(s.cpu.t)))].sort();
    expect((await ds.metricFindQuery('label_values(perfwatch_cpu_seconds_total, cpu)')).map((v) => v.text)).toEqual(
      cpus
    );
    const devices = [...new Set(seed.flatMap((s) => Object.keys(s.disk)))].sort();
    expect(
      (await ds.metricFindQuery({ query: 'label_values(perfwatch_disk_read_bytes_total, device)' })).map((v) => v.text)
    ).toEqual(devices);
  });

  it('label_values with a host filter, from a variable (multi and All)', async () => {
    const multi = wire({
      apiUrl: api.url,
      token: api.token,
      variables: [{ name: 'host', values: api.hosts, current: ['beta', 'gamma'], multi: true, includeAll: true }],
    });
    expect(
      (await multi.ds.metricFindQuery('label_values(perfwatch_cpu_seconds_total, host, $host)')).map((v) => v.text)
    ).toEqual(['beta', 'gamma']);
    const all = wire({
      apiUrl: api.url,
      token: api.token,
      variables: [{ name: 'host', values: api.hosts, current: '$__all', multi: true, includeAll: true }],
    });
    expect(
      (await all.ds.metricFindQuery('label_values(perfwatch_cpu_seconds_total, host, $host)')).map((v) => v.text)
    ).toEqual(api.hosts);
  });

  it('a malformed or unknown variable query is refused with a message', async () => {
    const { ds } = wire({ apiUrl: api.url, token: api.token });
    await expect(ds.metricFindQuery('series()')).rejects.toThrow(/unknown function series\(\)/);
    await expect(ds.metricFindQuery('metrics([)')).rejects.toMatchObject({ code: 'INVALID_REGEX' });
    await expect(ds.metricFindQuery('label_values(perfwatch_cpu_seconds_total)')).rejects.toThrow(
      /needs a metric and a label/
    );
    await expect(ds.metricFindQuery('label_values(perfwatch_nothing, cpu)')).rejects.toMatchObject({
      status: 404,
      code: 'UNKNOWN_METRIC',
    });
  });
});

describe('annotations', () => {
  it("a host's outage as a region, and retention runs", async () => {
    const { ds } = wire({ apiUrl: api.url, token: api.token });
    const annotation = ds.annotations!.prepareAnnotation!({
      name: 'PerfWatch',
      enable: true,
      iconColor: 'red',
    } as never);
    const target = annotation.target as PerfWatchQuery;
    expect(target.queryType).toBe(ANNOTATIONS_QUERY_TYPE);
    const res = await ds.query(request([target], api.from, api.to));
    const frame = res.data[0] as DataFrame;
    const col = (name: string) => frame.fields.find((f) => f.name === name)!.values;
    const gaps = col('title')
      .map((t, i) => ({ title: t, time: col('time')[i], timeEnd: col('timeEnd')[i], tags: col('tags')[i] }))
      .filter((a) => (a.tags as string[]).includes('gap'));
    expect(gaps).toEqual([
      { title: 'No data from beta', time: api.gap.from, timeEnd: api.gap.to, tags: ['gap', 'beta'] },
    ]);

    const later = await ds.query(request([{ ...target, kinds: ['retention'] }], api.from, api.retentionAt + 60_000));
    const runs = (later.data[0] as DataFrame).fields.find((f) => f.name === 'title')!.values;
    expect([...runs].sort()).toEqual(['Retention run (1h)', 'Retention run (1m)', 'Retention run (raw)']);
  });

  it('gaps of the chosen hosts only', async () => {
    const { ds } = wire({
      apiUrl: api.url,
      token: api.token,
      variables: [{ name: 'host', values: api.hosts, current: 'alpha' }],
    });
    const res = await ds.query(
      request(
        [{ refId: 'Anno', queryType: ANNOTATIONS_QUERY_TYPE, kinds: ['gap'], hosts: ['$host'] }],
        api.from,
        api.to
      )
    );
    expect((res.data[0] as DataFrame).length).toBe(0);
  });
});
