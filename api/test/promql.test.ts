/**
 * The Prometheus-compatible query API (/prometheus) against a real api, Postgres and synthetic
 * history: two hosts, four hours at 5 s (store/test/synth.ts), one with a 10-minute outage and a
 * counter reset, perf counters for IPC; the first three hours rolled up to the 1m tier.
 *
 * Every query's expected result is computed here from the same snapshots by plain reference code
 * (the snapshot fields read directly, windows by filtering, Prometheus's formulas written out),
 * never by the engine.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { insertSnapshots, runRollups, type Snapshot } from '@perfwatch/store';
import { fixtureSnapshot, HostSim } from '../../store/test/synth.js';
import { ADMIN, call, createUser, login, startTestApi, type Res, type TestApi } from './helpers.js';
import { parsePromQL } from '../src/promql/parse.js';
import { RecentCredentials } from '../src/promql/router.js';

type L = Record<string, string>;
interface RS { labels: L; t: number[]; v: number[] }
type Vec = Map<string, { labels: L; value: number }>;

const MIN = 60_000;
const HOUR = 3_600_000;
const IV = 5_000;
const N = 4 * 720;
const DAY = 86_400_000;
// 22:00 UTC the day before yesterday: the first two hours make a whole day block for the 1h tier.
const T0 = Math.floor(Date.now() / DAY) * DAY - DAY - 2 * HOUR;
const GAP = [1000, 1120]; // beta has no snapshots for these indexes (10 minutes)
const RESET = 2000; // beta's counters start again from (near) zero here
const MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'];
const LOOKBACK = 5 * MIN;

const key = (l: L) => JSON.stringify(Object.keys(l).sort().map((k) => [k, l[k]]));
const dropName = (l: L): L => Object.fromEntries(Object.entries(l).filter(([k]) => k !== '__name__'));

// ---- the synthetic history ----------------------------------------------------------------------------

function makeHost(host: string, seed: number): Snapshot[] {
  const base = fixtureSnapshot('small', { compact: true });
  base.perf = { ev: ['cpu-cycles', 'instructions'], c: { '0': [5e9, 7e9], '1': [4e9, 6e9] }, r: { '0': [1, 1], '1': [1, 1] }, un: {} };
  const sim = new HostSim(base, host, seed);
  const all = Array.from({ length: N }, (_, i) => sim.next(T0 + i * IV));
  if (host !== 'beta') return all;
  const before = all[RESET - 1]!;
  for (const s of all.slice(RESET)) {
    for (const [cpu, t] of Object.entries(s.cpu!.t)) s.cpu!.t[cpu] = t.map((x, i) => Math.round((x - before.cpu!.t[cpu]![i]!) * 100) / 100);
    s.cpu!.ctxt = s.cpu!.ctxt! - before.cpu!.ctxt!;
    for (const [cpu, c] of Object.entries(s.perf!.c)) s.perf!.c[cpu] = c.map((x, i) => x! - before.perf!.c[cpu]![i]!);
  }
  return all.filter((_, i) => i < GAP[0]! || i >= GAP[1]!);
}

const DATA: Record<string, Snapshot[]> = { alpha: makeHost('alpha', 1), beta: makeHost('beta', 2) };

/** The reference extraction: each metric read straight from the snapshot fields. */
const EXTRACT: Record<string, (s: Snapshot) => [L, number][]> = {
  perfwatch_load_average_1m: (s) => [[{}, s.load!.l[0]]],
  perfwatch_load_average_5m: (s) => [[{}, s.load!.l[1]]],
  perfwatch_system_context_switches_total: (s) => [[{}, s.cpu!.ctxt!]],
  perfwatch_memory_mem_available_bytes: (s) => [[{}, s.mem!.MemAvailable!]],
  perfwatch_cpu_seconds_total: (s) => Object.entries(s.cpu!.t).flatMap(([cpu, t]) => MODES.map((mode, i) => [{ cpu, mode }, t[i]!] as [L, number])),
  perfwatch_perf_cpu_cycles_total: (s) => Object.entries(s.perf!.c).map(([cpu, c]) => [{ cpu }, c[0]!] as [L, number]),
  perfwatch_perf_instructions_total: (s) => Object.entries(s.perf!.c).map(([cpu, c]) => [{ cpu }, c[1]!] as [L, number]),
};

const seriesCache = new Map<string, RS[]>();
function series(metric: string, pred: (l: L) => boolean = () => true): RS[] {
  let all = seriesCache.get(metric);
  if (!all) {
    const m = new Map<string, RS>();
    for (const [host, snaps] of Object.entries(DATA)) {
      for (const s of snaps) {
        for (const [l, v] of EXTRACT[metric]!(s)) {
          const labels = { __name__: metric, ...l, host };
          let r = m.get(key(labels));
          if (!r) m.set(key(labels), (r = { labels, t: [], v: [] }));
          r.t.push(s.ts);
          r.v.push(v);
        }
      }
    }
    seriesCache.set(metric, (all = [...m.values()]));
  }
  return all.filter((s) => pred(s.labels));
}

// ---- reference semantics ------------------------------------------------------------------------------------

function vec(entries: { labels: L; value: number }[]): Vec {
  return new Map(entries.map((e) => [key(e.labels), e]));
}

/**
 * Instant selector: the latest sample in (t - 5m, t] that is not stale. Staleness, as a
 * Prometheus staleness marker after a failed scrape: a sample followed by no snapshot of its host
 * for more than 1.5 intervals (beta's outage, the end of the history) is stale one interval
 * after its time.
 */
function inst(metric: string, pred: (l: L) => boolean, t: number, offset = 0): Vec {
  const at = t - offset;
  const out: { labels: L; value: number }[] = [];
  for (const s of series(metric, pred)) {
    let best = -1;
    s.t.forEach((x, i) => {
      if (x <= at && x > at - LOOKBACK) best = i;
    });
    if (best < 0) continue;
    const next = s.t[best + 1];
    const ends = next === undefined || next - s.t[best]! > 1.5 * IV;
    if (ends && at >= s.t[best]! + IV) continue;
    out.push({ labels: s.labels, value: s.v[best]! });
  }
  return vec(out);
}

/** Prometheus 3's sum: Neumaier-compensated (kahanSumInc). */
function kahanSum(xs: number[]): number {
  let sum = 0;
  let c = 0;
  for (const x of xs) {
    const t = sum + x;
    if (Math.abs(sum) >= Math.abs(x)) c += sum - t + x;
    else c += x - t + sum;
    sum = t;
  }
  return sum + c;
}

function windowOf(s: RS, end: number, r: number): { t: number[]; v: number[] } {
  const t: number[] = [];
  const v: number[] = [];
  s.t.forEach((x, i) => {
    if (x > end - r && x <= end) {
      t.push(x);
      v.push(s.v[i]!);
    }
  });
  return { t, v };
}

function extrapolated(t: number[], v: number[], start: number, end: number, counter: boolean, rate: boolean): number | undefined {
  if (t.length < 2) return undefined;
  let inc = v[v.length - 1]! - v[0]!;
  if (counter) for (let i = 1; i < v.length; i++) if (v[i]! < v[i - 1]!) inc += v[i - 1]!;
  const sampled = (t[t.length - 1]! - t[0]!) / 1000;
  const avg = sampled / (t.length - 1);
  let toStart = (t[0]! - start) / 1000;
  let toEnd = (end - t[t.length - 1]!) / 1000;
  if (toStart >= avg * 1.1) toStart = avg / 2;
  if (counter && inc > 0 && v[0]! >= 0) toStart = Math.min(toStart, sampled * (v[0]! / inc));
  if (toEnd >= avg * 1.1) toEnd = avg / 2;
  const result = inc * ((sampled + toStart + toEnd) / sampled);
  return rate ? result / ((end - start) / 1000) : result;
}

type Fn = 'rate' | 'irate' | 'increase' | 'delta' | 'deriv' | 'avg_over_time' | 'min_over_time' | 'max_over_time' | 'sum_over_time' | 'count_over_time';

function applyFn(fn: Fn, t: number[], v: number[], start: number, end: number): number | undefined {
  const n = v.length;
  switch (fn) {
    case 'rate': return extrapolated(t, v, start, end, true, true);
    case 'increase': return extrapolated(t, v, start, end, true, false);
    case 'delta': return extrapolated(t, v, start, end, false, false);
    case 'irate': {
      if (n < 2) return undefined;
      const d = v[n - 1]! < v[n - 2]! ? v[n - 1]! : v[n - 1]! - v[n - 2]!;
      return d / ((t[n - 1]! - t[n - 2]!) / 1000);
    }
    case 'deriv': {
      if (n < 2) return undefined;
      const xs = t.map((x) => (x - t[0]!) / 1000);
      const mx = xs.reduce((a, b) => a + b, 0) / n;
      const my = v.reduce((a, b) => a + b, 0) / n;
      let num = 0;
      let den = 0;
      xs.forEach((x, i) => {
        num += (x - mx) * (v[i]! - my);
        den += (x - mx) ** 2;
      });
      return num / den;
    }
    case 'avg_over_time': return n ? v.reduce((a, b) => a + b, 0) / n : undefined;
    case 'sum_over_time': return n ? v.reduce((a, b) => a + b, 0) : undefined;
    case 'min_over_time': return n ? Math.min(...v) : undefined;
    case 'max_over_time': return n ? Math.max(...v) : undefined;
    case 'count_over_time': return n ? n : undefined;
  }
}

function fnr(fn: Fn, metric: string, pred: (l: L) => boolean, r: number, t: number, offset = 0): Vec {
  const end = t - offset;
  const out: { labels: L; value: number }[] = [];
  for (const s of series(metric, pred)) {
    const w = windowOf(s, end, r);
    const x = applyFn(fn, w.t, w.v, end - r, end);
    if (x !== undefined) out.push({ labels: dropName(s.labels), value: x });
  }
  return vec(out);
}

function agg(op: 'sum' | 'avg' | 'min' | 'max' | 'count', v: Vec, by: string[] | null, without: string[] = []): Vec {
  const groups = new Map<string, { labels: L; xs: number[] }>();
  for (const { labels, value } of v.values()) {
    const g: L = {};
    for (const [k, x] of Object.entries(labels)) if (k !== '__name__' && (by ? by.includes(k) : !without.includes(k))) g[k] = x;
    let e = groups.get(key(g));
    if (!e) groups.set(key(g), (e = { labels: g, xs: [] }));
    e.xs.push(value);
  }
  return vec(
    [...groups.values()].map(({ labels, xs }) => ({
      labels,
      value: op === 'sum' ? kahanSum(xs) : op === 'avg' ? kahanSum(xs) / xs.length : op === 'min' ? Math.min(...xs) : op === 'max' ? Math.max(...xs) : xs.length,
    })),
  );
}

function topk(k: number, v: Vec): Vec {
  return vec([...v.values()].sort((a, b) => b.value - a.value).slice(0, k));
}

/** vector op vector, one-to-one on all labels but __name__ (or on(labels)). */
function vv(a: Vec, b: Vec, f: (x: number, y: number) => number, on?: string[]): Vec {
  const sig = (l: L) => key(on ? Object.fromEntries(on.filter((k) => l[k] !== undefined).map((k) => [k, l[k]!])) : dropName(l));
  const right = new Map([...b.values()].map((e) => [sig(e.labels), e]));
  const out: { labels: L; value: number }[] = [];
  for (const e of a.values()) {
    const r = right.get(sig(e.labels));
    if (!r) continue;
    const labels = on ? Object.fromEntries(on.filter((k) => e.labels[k] !== undefined).map((k) => [k, e.labels[k]!])) : dropName(e.labels);
    out.push({ labels, value: f(e.value, r.value) });
  }
  return vec(out);
}

/** vector op scalar: arithmetic (name dropped) or a filter (kept). */
function vs(a: Vec, f: (x: number) => number, filter = false): Vec {
  const out: { labels: L; value: number }[] = [];
  for (const e of a.values()) {
    if (filter) {
      if (f(e.value)) out.push(e);
    } else out.push({ labels: dropName(e.labels), value: f(e.value) });
  }
  return vec(out);
}

// ---- helpers -------------------------------------------------------------------------------------------------

function close(actual: number, expected: number, what: string): void {
  if (Number.isNaN(expected)) {
    expect(Number.isNaN(actual), what).to.equal(true);
    return;
  }
  const tol = 1e-9 * Math.max(1, Math.abs(expected));
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).to.be.at.most(tol);
}

const parse = (s: string) => (s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s));

function expectVector(r: Res, expected: Vec | number, t: number, what: string): void {
  expect(r.status, `${what}: ${r.text}`).to.equal(200);
  expect(r.body.status).to.equal('success');
  if (typeof expected === 'number') {
    expect(r.body.data.resultType).to.equal('scalar');
    expect(r.body.data.result[0]).to.equal(t / 1000);
    close(parse(r.body.data.result[1]), expected, what);
    return;
  }
  expect(r.body.data.resultType, what).to.equal('vector');
  const got = r.body.data.result as { metric: L; value: [number, string] }[];
  expect(got.map((g) => key(g.metric)).sort(), `${what}: series`).to.deep.equal([...expected.keys()].sort());
  for (const g of got) {
    expect(g.value[0]).to.equal(t / 1000);
    close(parse(g.value[1]), expected.get(key(g.metric))!.value, `${what} ${key(g.metric)}`);
  }
}

function expectMatrix(r: Res, ref: (t: number) => Vec | number, start: number, end: number, step: number, what: string): void {
  expect(r.status, `${what}: ${r.text}`).to.equal(200);
  expect(r.body.data.resultType, what).to.equal('matrix');
  const got = new Map((r.body.data.result as { metric: L; values: [number, string][] }[]).map((s) => [key(s.metric), new Map(s.values.map(([t, v]) => [Math.round(t * 1000), parse(v)]))]));
  const want = new Map<string, Map<number, number>>();
  for (let t = start; t <= end; t += step) {
    const e = ref(t);
    const entries = typeof e === 'number' ? [{ labels: {}, value: e }] : [...e.values()];
    for (const { labels, value } of entries) {
      let m = want.get(key(labels));
      if (!m) want.set(key(labels), (m = new Map()));
      m.set(t, value);
    }
  }
  expect([...got.keys()].sort(), `${what}: series`).to.deep.equal([...want.keys()].sort());
  for (const [k, m] of want) {
    const g = got.get(k)!;
    expect([...g.keys()], `${what} ${k}: timestamps`).to.deep.equal([...m.keys()]);
    for (const [t, v] of m) close(g.get(t)!, v, `${what} ${k} @${t}`);
  }
}

const all = () => true;
const host = (h: string) => (l: L) => l.host === h;

// ---- the table ---------------------------------------------------------------------------------------------------

const CPU = 'perfwatch_cpu_seconds_total';
const LOAD = 'perfwatch_load_average_1m';
const user = (l: L) => l.mode === 'user';

const TABLE: [string, (t: number) => Vec | number][] = [
  [LOAD, (t) => inst(LOAD, all, t)],
  [`${CPU}{cpu="0",mode="user"}`, (t) => inst(CPU, (l) => l.cpu === '0' && user(l), t)],
  [`${LOAD}{host=~"al.*"}`, (t) => inst(LOAD, host('alpha'), t)],
  [`${LOAD}{host=~"(?i)BETA|gamma"}`, (t) => inst(LOAD, host('beta'), t)],
  [`{__name__="perfwatch_load_average_5m", host!="beta"}`, (t) => inst('perfwatch_load_average_5m', host('alpha'), t)],
  [`${CPU}{mode!~"idle|user|system|iowait|irq|softirq|steal"}`, (t) => inst(CPU, (l) => l.mode === 'nice', t)],
  [`${LOAD} offset 10m`, (t) => inst(LOAD, all, t, 10 * MIN)],
  [`rate(${CPU}{mode="user"}[5m])`, (t) => fnr('rate', CPU, user, 5 * MIN, t)],
  [`rate(${CPU}{mode="system"}[5m] offset 30m)`, (t) => fnr('rate', CPU, (l) => l.mode === 'system', 5 * MIN, t, 30 * MIN)],
  [`irate(${CPU}{mode="system"}[1m])`, (t) => fnr('irate', CPU, (l) => l.mode === 'system', MIN, t)],
  ['increase(perfwatch_system_context_switches_total[10m])', (t) => fnr('increase', 'perfwatch_system_context_switches_total', all, 10 * MIN, t)],
  [`delta(${LOAD}[15m])`, (t) => fnr('delta', LOAD, all, 15 * MIN, t)],
  ['deriv(perfwatch_memory_mem_available_bytes[10m])', (t) => fnr('deriv', 'perfwatch_memory_mem_available_bytes', all, 10 * MIN, t)],
  [`avg_over_time(${LOAD}[10m])`, (t) => fnr('avg_over_time', LOAD, all, 10 * MIN, t)],
  [`min_over_time(${LOAD}[10m])`, (t) => fnr('min_over_time', LOAD, all, 10 * MIN, t)],
  [`max_over_time(${LOAD}[10m])`, (t) => fnr('max_over_time', LOAD, all, 10 * MIN, t)],
  [`sum_over_time(${LOAD}[2m])`, (t) => fnr('sum_over_time', LOAD, all, 2 * MIN, t)],
  [`count_over_time(${LOAD}[7m])`, (t) => fnr('count_over_time', LOAD, all, 7 * MIN, t)],
  [`sum by (mode) (rate(${CPU}[5m]))`, (t) => agg('sum', fnr('rate', CPU, all, 5 * MIN, t), ['mode'])],
  [`avg without (cpu) (rate(${CPU}[5m]))`, (t) => agg('avg', fnr('rate', CPU, all, 5 * MIN, t), null, ['cpu'])],
  [`min by (host) (${LOAD})`, (t) => agg('min', inst(LOAD, all, t), ['host'])],
  [`max(rate(${CPU}{mode="idle"}[5m]))`, (t) => agg('max', fnr('rate', CPU, (l) => l.mode === 'idle', 5 * MIN, t), [])],
  [`count by (host) (${CPU})`, (t) => agg('count', inst(CPU, all, t), ['host'])],
  [`sum(${LOAD}) by (host)`, (t) => agg('sum', inst(LOAD, all, t), ['host'])],
  [`topk(2, rate(${CPU}{mode="user"}[5m]))`, (t) => topk(2, fnr('rate', CPU, user, 5 * MIN, t))],
  ['rate(perfwatch_perf_instructions_total[5m]) / rate(perfwatch_perf_cpu_cycles_total[5m])', (t) =>
    vv(fnr('rate', 'perfwatch_perf_instructions_total', all, 5 * MIN, t), fnr('rate', 'perfwatch_perf_cpu_cycles_total', all, 5 * MIN, t), (a, b) => a / b)],
  ['sum by (host) (rate(perfwatch_perf_instructions_total[5m])) / on(host) sum by (host) (rate(perfwatch_perf_cpu_cycles_total[5m]))', (t) =>
    vv(agg('sum', fnr('rate', 'perfwatch_perf_instructions_total', all, 5 * MIN, t), ['host']), agg('sum', fnr('rate', 'perfwatch_perf_cpu_cycles_total', all, 5 * MIN, t), ['host']), (a, b) => a / b, ['host'])],
  [`${LOAD} - ignoring(x) perfwatch_load_average_5m`, (t) => vv(inst(LOAD, all, t), inst('perfwatch_load_average_5m', all, t), (a, b) => a - b)],
  [`${LOAD} > 0.5`, (t) => vs(inst(LOAD, all, t), (x) => (x > 0.5 ? 1 : 0), true)],
  [`${LOAD} > bool 0.5`, (t) => vs(inst(LOAD, all, t), (x) => (x > 0.5 ? 1 : 0))],
  [`0.5 < ${LOAD}`, (t) => vs(inst(LOAD, all, t), (x) => (x > 0.5 ? 1 : 0), true)],
  [`${LOAD} >= on(host) perfwatch_load_average_5m`, (t) => {
    const five = inst('perfwatch_load_average_5m', all, t);
    return vec([...inst(LOAD, all, t).values()].filter((e) => { const o = [...five.values()].find((f) => f.labels.host === e.labels.host); return o && e.value >= o.value; }).map((e) => ({ labels: { host: e.labels.host! }, value: e.value })));
  }],
  [`${LOAD} != bool perfwatch_load_average_5m`, (t) => vv(inst(LOAD, all, t), inst('perfwatch_load_average_5m', all, t), (a, b) => (a !== b ? 1 : 0))],
  [`2 * ${LOAD} + 1`, (t) => vs(inst(LOAD, all, t), (x) => 2 * x + 1)],
  [`1 - ${LOAD} / 4`, (t) => vs(inst(LOAD, all, t), (x) => 1 - x / 4)],
  [`${LOAD} % 0.3`, (t) => vs(inst(LOAD, all, t), (x) => x % 0.3)],
  [`${LOAD} ^ 2`, (t) => vs(inst(LOAD, all, t), (x) => x ** 2)],
  [`-${LOAD}`, (t) => vs(inst(LOAD, all, t), (x) => -x)],
  [`(${LOAD} == ${LOAD}) * 0`, (t) => vs(inst(LOAD, all, t), () => 0)],
  ['(1 + 2) * 3 - 2 ^ 3', () => 1],
  ['1 > bool 2', () => 0],
  ['0x10 / 4', () => 4],
];

// Instant-query times: within raw data, around beta's outage (beta absent: its last sample is over 5 m
// old) and its counter reset, and in the part that is not rolled up.
const TIMES = [T0 + 30 * MIN + 2_500, T0 + 5_300_000, T0 + 5_640_000, T0 + 10_100_000, T0 + 2 * HOUR + 17_000, T0 + 3.5 * HOUR];

describe('Prometheus query API (/prometheus)', function () {
  this.timeout(120_000);
  let t: TestApi;
  let token: string;
  const q = (path: string, params: Record<string, string | number>, opts: { headers?: Record<string, string>; method?: 'GET' | 'POST'; auth?: string | null } = {}) => {
    const qs = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
    const headers = { ...(opts.auth === null ? {} : { authorization: opts.auth ?? `Bearer ${token}` }), ...opts.headers };
    if (opts.method === 'POST') return call(t.url, 'POST', `/prometheus${path}`, { raw: qs, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' } });
    return call(t.url, 'GET', `/prometheus${path}${qs ? `?${qs}` : ''}`, { headers });
  };

  before(async () => {
    t = await startTestApi();
    const admin = await login(t.url, ADMIN.username, ADMIN.password);
    const r = await call(t.url, 'POST', '/api/v1/tokens', { token: admin.token, body: { name: 'promql', role: 'viewer' } });
    token = r.body.token;
    for (const snaps of Object.values(DATA)) for (let i = 0; i < snaps.length; i += 500) await insertSnapshots(t.db, snaps.slice(i, i + 500));
    // The first three hours rolled up to 1m, the first two (the day's block) to 1h too; the last hour only raw.
    for (;;) {
      const r1 = await runRollups(t.db, { tier: '1m', now: T0 + 3 * HOUR + 2 * MIN, maxBuckets: 100_000 });
      if (!r1.behind) break;
    }
    const h1 = await runRollups(t.db, { tier: '1h', now: T0 + 3 * HOUR + 2 * MIN, maxBuckets: 100_000 });
    if (h1.blocks !== 2) throw new Error(`expected one 1h block per host, got ${JSON.stringify(h1)}`);
  });
  after(() => t.close());

  describe('instant queries equal the reference', () => {
    for (const [query, ref] of TABLE) {
      it(query, async () => {
        for (const time of TIMES) expectVector(await q('/api/v1/query', { query, time: time / 1000 }), ref(time), time, `${query} @${time - T0}`);
      });
    }
  });

  describe('range queries equal the reference', () => {
    const start = T0 + 80 * MIN + 1_000;
    const end = start + 90 * MIN;
    const step = 70_000;
    for (const [query, ref] of TABLE) {
      it(query, async () => {
        const r = await q('/api/v1/query_range', { query, start: start / 1000, end: end / 1000, step: step / 1000 });
        expectMatrix(r, ref, start, end, step, query);
        expect(r.headers.get('x-perfwatch-tier')).to.be.oneOf(['raw', 'none']);
      });
    }
  });

  it('takes POST form bodies, RFC 3339 times and duration steps; steps stop at end', async () => {
    const start = T0 + HOUR;
    const r = await q('/api/v1/query_range', { query: LOAD, start: new Date(start).toISOString(), end: new Date(start + 10 * MIN + 30_000).toISOString(), step: '1m' }, { method: 'POST' });
    expectMatrix(r, (x) => inst(LOAD, all, x), start, start + 10 * MIN, MIN, 'POST');
    const s = r.body.data.result[0].values as [number, string][];
    expect(s).to.have.length(11);
    expect(s[0]![0]).to.equal(start / 1000);
  });

  it('staleness: a series ends one interval after its host\'s last snapshot, also when the query ends within 1.5 intervals of it', async () => {
    for (const [host, snaps] of Object.entries(DATA)) {
      const last = snaps[snaps.length - 1]!.ts;
      const at = async (t: number) => (await q('/api/v1/query', { query: `${LOAD}{host="${host}"}`, time: t / 1000 })).body.data.result as unknown[];
      expect(await at(last + IV - 1000), `${host} just before the marker`).to.have.length(1);
      // Prometheus writes its staleness marker at the failed scrape, one interval on: nothing from there.
      expect(await at(last + IV), `${host} at the marker`).to.have.length(0);
      expect(await at(last + IV + 1000), `${host} after it`).to.have.length(0);
    }
    // beta's outage: stale one interval after the snapshot before it, back with the next one.
    const beta = DATA.beta!;
    const before = beta[GAP[0]! - 1]!.ts;
    const r = await q('/api/v1/query_range', { query: `${LOAD}{host="beta"}`, start: (before - 2 * IV) / 1000, end: (before + 4 * IV) / 1000, step: IV / 1000 });
    const times = (r.body.data.result[0].values as [number, string][]).map((v) => v[0] * 1000);
    expect(times).to.deep.equal([before - 2 * IV, before - IV, before]);
  });

  it('an instant query of a range vector answers the raw samples as a matrix', async () => {
    const time = T0 + HOUR;
    const r = await q('/api/v1/query', { query: `${LOAD}{host="alpha"}[1m]`, time: time / 1000 });
    expect(r.status, r.text).to.equal(200);
    expect(r.body.data.resultType).to.equal('matrix');
    const w = windowOf(series(LOAD, host('alpha'))[0]!, time, MIN);
    expect(r.body.data.result[0].metric).to.deep.equal({ __name__: LOAD, host: 'alpha' });
    expect(r.body.data.result[0].values).to.deep.equal(w.t.map((x, i) => [x / 1000, String(w.v[i])]));
  });

  describe('rollups: the 1m tier against raw evaluation', () => {
    // Whole minutes, so every window is whole buckets; rolled-up and raw-tail parts both in range.
    const start = T0 + HOUR;
    const end = T0 + 3 * HOUR + 50 * MIN;
    const step = 5 * MIN;
    const both = async (query: string) => {
      const params = { query, start: start / 1000, end: end / 1000, step: step / 1000 };
      const [a, b] = await Promise.all([q('/api/v1/query_range', params, { headers: { 'x-perfwatch-tier': '1m' } }), q('/api/v1/query_range', params, { headers: { 'x-perfwatch-tier': 'raw' } })]);
      expect(a.status, a.text).to.equal(200);
      expect(b.status, b.text).to.equal(200);
      expect(a.headers.get('x-perfwatch-tier')).to.equal('1m');
      expect(b.headers.get('x-perfwatch-tier')).to.equal('raw');
      const m = (r: Res) => new Map((r.body.data.result as { metric: L; values: [number, string][] }[]).map((s) => [key(s.metric), new Map(s.values.map(([x, v]) => [Math.round(x * 1000), Number(v)]))]));
      return { rolled: m(a), raw: m(b) };
    };
    /** Raw pairs (a, b) at most 10 minutes apart with b in [from, to): b - a, or b after a reset. */
    const pairIncrease = (s: RS, from: number, to: number) => {
      let inc = 0;
      for (let i = 1; i < s.t.length; i++) if (s.t[i]! >= from && s.t[i]! < to && s.t[i]! - s.t[i - 1]! <= 10 * MIN) inc += s.v[i]! >= s.v[i - 1]! ? s.v[i]! - s.v[i - 1]! : s.v[i]!;
      return inc;
    };

    it('rate of a counter: exactly the raw increase of the window\'s whole minutes / range, and within 3 intervals\' increase of Prometheus\'s raw rate', async () => {
      const { rolled, raw } = await both(`rate(${CPU}[5m])`);
      expect([...rolled.keys()].sort()).to.deep.equal([...raw.keys()].sort());
      let compared = 0;
      for (const s of series(CPU)) {
        const k = key(dropName(s.labels));
        const maxInc = Math.max(...s.v.slice(1).map((v, i) => (v >= s.v[i]! ? v - s.v[i]! : v)));
        for (const [time, v] of rolled.get(k)!) {
          close(v, pairIncrease(s, time - 5 * MIN, time) / 300, `${k} @${time - T0}`);
          const r = raw.get(k)!.get(time);
          if (r === undefined) continue;
          expect(Math.abs(v - r), `${k} @${time - T0}: ${v} vs raw ${r}`).to.be.at.most((3 * maxInc) / 300 + 1e-9);
          compared++;
        }
      }
      expect(compared).to.be.greaterThan(500);
    });

    it('instant selectors: a counter\'s last value before the minute, a gauge\'s average of its last minute', async () => {
      const lastBefore = (s: RS, time: number) => {
        let i = -1;
        s.t.forEach((x, j) => {
          if (x < time) i = j;
        });
        return i;
      };
      const c = await both(`${CPU}{cpu="1"}`);
      let n = 0;
      for (const s of series(CPU, (l) => l.cpu === '1')) {
        for (const [time, v] of c.rolled.get(key(s.labels)) ?? []) {
          expect(v, `${key(s.labels)} @${time - T0}`).to.equal(s.v[lastBefore(s, time)]);
          n++;
        }
      }
      expect(n).to.be.greaterThan(50);
      const g = await both(LOAD);
      for (const s of series(LOAD)) {
        for (const [time, v] of g.rolled.get(key(s.labels))!) {
          const b = Math.floor(s.t[lastBefore(s, time)]! / MIN) * MIN;
          const w = windowOf(s, b + MIN - 1, MIN);
          close(v, w.v.reduce((x, y) => x + y, 0) / w.v.length, `${key(s.labels)} @${time - T0}`);
        }
      }
    });

    it('*_over_time of a gauge: the buckets in [t - r, t), within one sample swapped at each edge of raw', async () => {
      for (const fn of ['avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time'] as const) {
        const { rolled, raw } = await both(`${fn}(${LOAD}[10m])`);
        for (const s of series(LOAD)) {
          const k = key(dropName(s.labels));
          for (const [time, v] of rolled.get(k)!) {
            const w = windowOf(s, time - 1, 10 * MIN); // [t - r, t) for whole-second samples
            const exact = applyFn(fn, w.t, w.v, 0, 0)!;
            close(v, exact, `${fn} ${k} @${time - T0}`);
            const r = raw.get(k)?.get(time);
            if (r === undefined) continue;
            const edge = windowOf(s, time, 10 * MIN + IV);
            const spread = Math.max(...edge.v) - Math.min(...edge.v);
            // Same count: one sample swapped at each edge; beside an outage one more or less.
            const bound = fn === 'count_over_time' ? 1 : fn === 'sum_over_time' ? Math.max(spread, ...edge.v.map(Math.abs)) : fn === 'avg_over_time' ? spread / Math.max(1, w.v.length - 1) : spread;
            expect(Math.abs(v - r), `${fn} ${k} @${time - T0}`).to.be.at.most(bound + 1e-9);
          }
        }
      }
    });

    it('the 1h tier (then 1m, then raw): windows of whole hours, exactly the raw samples\' pairs and values in [e - r, e)', async () => {
      const params = (query: string) => ({ query, start: (T0 + HOUR) / 1000, end: (T0 + 4 * HOUR) / 1000, step: 3600 });
      const m = (r: Res) => new Map((r.body.data.result as { metric: L; values: [number, string][] }[]).map((x) => [key(x.metric), new Map(x.values.map(([ts, v]) => [Math.round(ts * 1000), Number(v)]))]));
      const rate = await q('/api/v1/query_range', params(`rate(${CPU}[1h])`), { headers: { 'x-perfwatch-tier': '1h' } });
      expect(rate.status, rate.text).to.equal(200);
      expect(rate.headers.get('x-perfwatch-tier')).to.equal('1h');
      const rated = m(rate);
      let n = 0;
      for (const s of series(CPU)) {
        for (const [time, v] of rated.get(key(dropName(s.labels)))!) {
          close(v, pairIncrease(s, time - HOUR, time) / 3600, `rate ${key(s.labels)} @${time - T0}`);
          n++;
        }
      }
      expect(n).to.equal(series(CPU).length * 4);
      for (const fn of ['avg_over_time', 'max_over_time', 'count_over_time'] as const) {
        const r = m(await q('/api/v1/query_range', params(`${fn}(${LOAD}[2h])`), { headers: { 'x-perfwatch-tier': '1h' } }));
        for (const s of series(LOAD)) {
          for (const [time, v] of r.get(key(dropName(s.labels)))!) {
            const w = windowOf(s, time - 1, 2 * HOUR);
            close(v, applyFn(fn, w.t, w.v, 0, 0)!, `${fn} ${key(s.labels)} @${time - T0}`);
          }
        }
      }
      const auto = await q('/api/v1/query_range', { ...params(`rate(${CPU}[1h])`), start: (T0 - 3 * HOUR) / 1000 });
      expect(auto.headers.get('x-perfwatch-tier')).to.equal('1h');
      const minutes = await q('/api/v1/query_range', { ...params(`rate(${CPU}[5m])`), start: (T0 - 3 * HOUR) / 1000 });
      expect(minutes.headers.get('x-perfwatch-tier')).to.equal('1m');
    });

    it('an instant query over a window longer than 6 h reads the 1m tier (alert rules)', async () => {
      const time = T0 + 3.5 * HOUR + 30_000;
      const r = await q('/api/v1/query', { query: `avg_over_time(${LOAD}[7h])`, time: time / 1000 });
      expect(r.headers.get('x-perfwatch-tier')).to.equal('1m');
      const e = Math.floor(time / MIN) * MIN;
      const want = vec(series(LOAD).map((s) => {
        const w = windowOf(s, e - 1, 7 * HOUR);
        return { labels: dropName(s.labels), value: w.v.reduce((a, b) => a + b, 0) / w.v.length };
      }));
      expectVector(r, want, time, 'avg_over_time 7h');
      const short = await q('/api/v1/query', { query: `avg_over_time(${LOAD}[1h])`, time: time / 1000 });
      expect(short.headers.get('x-perfwatch-tier')).to.equal('raw');
    });

    it('auto picks the 1m tier for long ranges at whole-minute steps, raw otherwise', async () => {
      const long = await q('/api/v1/query_range', { query: `rate(${CPU}[5m])`, start: (T0 - 2 * HOUR) / 1000, end: (T0 + 4 * HOUR) / 1000, step: 300 });
      expect(long.headers.get('x-perfwatch-tier')).to.equal('1m');
      const short = await q('/api/v1/query_range', { query: `rate(${CPU}[5m])`, start: T0 / 1000, end: (T0 + HOUR) / 1000, step: 60 });
      expect(short.headers.get('x-perfwatch-tier')).to.equal('raw');
      const irate = await q('/api/v1/query_range', { query: `irate(${CPU}[5m])`, start: (T0 - 2 * HOUR) / 1000, end: (T0 + 4 * HOUR) / 1000, step: 300 });
      expect(irate.headers.get('x-perfwatch-tier')).to.equal('raw');
      // A subquery's own steps decide: 1-minute steps over 7 hours read the 1m tier, and agree with raw
      // within the rate tolerance above.
      const sub = `max_over_time(rate(${CPU}{cpu="0",mode="user"}[5m])[7h:1m])`;
      const at = { query: sub, time: (T0 + 3 * HOUR) / 1000 };
      const viaTier = await q('/api/v1/query', at);
      expect(viaTier.headers.get('x-perfwatch-tier')).to.equal('1m');
      const viaRaw = await q('/api/v1/query', at, { headers: { 'x-perfwatch-tier': 'raw' } });
      expect(viaRaw.headers.get('x-perfwatch-tier')).to.equal('raw');
      const a = viaTier.body.data.result as { metric: L; value: [number, string] }[];
      const b = viaRaw.body.data.result as { metric: L; value: [number, string] }[];
      expect(a.map((x) => key(x.metric)).sort()).to.deep.equal(b.map((x) => key(x.metric)).sort());
      for (const x of a) {
        const y = b.find((z) => key(z.metric) === key(x.metric))!;
        expect(Math.abs(Number(x.value[1]) - Number(y.value[1])), key(x.metric)).to.be.lessThan(0.1 * Number(y.value[1]));
      }
    });
  });

  describe('series, labels, label values, metadata, buildinfo', () => {
    it('series of match[] selectors', async () => {
      const r = await q('/api/v1/series', { 'match[]': `${CPU}{cpu="0",mode=~"user|idle"}` });
      expect(r.status, r.text).to.equal(200);
      expect(r.body.data).to.deep.equal(['alpha', 'beta'].flatMap((h) => ['idle', 'user'].map((mode) => ({ __name__: CPU, cpu: '0', host: h, mode }))));
      const none = await q('/api/v1/series', {});
      expect(none.status).to.equal(400);
      expect(none.body).to.deep.equal({ status: 'error', errorType: 'bad_data', error: 'no match[] parameter provided' });
    });

    it('labels and label values (host included, __name__ gives metric names)', async () => {
      const labels = await q('/api/v1/labels', { 'match[]': CPU });
      expect(labels.body.data).to.deep.equal(['__name__', 'cpu', 'host', 'mode']);
      const hosts = await q('/api/v1/label/host/values', {});
      expect(hosts.body.data).to.deep.equal(['alpha', 'beta']);
      const modes = await q('/api/v1/label/mode/values', { 'match[]': CPU });
      expect(modes.body.data).to.deep.equal([...MODES].sort());
      expect((await q('/api/v1/label/mode/values', { 'match[]': CPU, limit: 2 })).body.data).to.deep.equal([...MODES].sort().slice(0, 2));
      expect((await q('/api/v1/labels', { 'match[]': CPU, limit: 1 })).body.data).to.deep.equal(['__name__']);
      expect((await q('/api/v1/series', { 'match[]': CPU, limit: 3 })).body.data).to.have.length(3);
      expect((await q('/api/v1/labels', { limit: 'x' })).status).to.equal(400);
      const names = await q('/api/v1/label/__name__/values', {});
      expect(names.body.data).to.include.members([CPU, LOAD, 'perfwatch_perf_instructions_total', 'perfwatch_memory_mem_available_bytes']);
      const outside = await q('/api/v1/label/host/values', { start: (T0 - 2 * HOUR) / 1000, end: (T0 - HOUR) / 1000 });
      expect(outside.body.data).to.deep.equal([]);
      const bad = await q('/api/v1/label/a-b/values', {});
      expect(bad.status).to.equal(400);
      expect(bad.body.errorType).to.equal('bad_data');
    });

    it('without match[], labels and label values come from hosts, shapes and rollups: the same as listing every series', async () => {
      // match[]={__name__=~".+"} lists every series (the general path); no match[] takes the fast one.
      const every = { 'match[]': '{__name__=~".+"}' };
      const names = await q('/api/v1/labels', {});
      expect(names.status, names.text).to.equal(200);
      expect(names.body.data).to.deep.equal((await q('/api/v1/labels', every)).body.data);
      expect(names.body.data).to.include.members(['__name__', 'host', 'cpu', 'mode', 'device']);
      for (const label of ['__name__', 'host', 'cpu', 'mode', 'device', 'mountpoint', 'collector', 'nope']) {
        const fast = await q(`/api/v1/label/${label}/values`, {});
        const slow = await q(`/api/v1/label/${label}/values`, every);
        expect(fast.body.data, label).to.deep.equal(slow.body.data);
        if (label !== 'nope') expect(fast.body.data.length, label).to.be.greaterThan(0);
      }
      // a range without data: nothing either way
      const outside = { start: (T0 - 2 * HOUR) / 1000, end: (T0 - HOUR) / 1000 };
      expect((await q('/api/v1/labels', outside)).body.data).to.deep.equal([]);
      expect((await q('/api/v1/label/mode/values', outside)).body.data).to.deep.equal([]);
    });

    it('metadata and buildinfo', async () => {
      const m = await q('/api/v1/metadata', { metric: CPU });
      expect(m.body.data).to.deep.equal({ [CPU]: [{ type: 'counter', help: 'Seconds each CPU spent in each mode (user and nice include guest time).', unit: 'seconds' }] });
      const allMeta = await q('/api/v1/metadata', {});
      expect(allMeta.body.data).to.have.property('perfwatch_memory_mem_available_bytes');
      const b = await q('/api/v1/status/buildinfo', {});
      expect(b.body.status).to.equal('success');
      expect(b.body.data.version).to.match(/^\d+\.\d+\.\d+$/);
    });
  });

  describe('a heavy or hostile query does not hold the api (#19)', () => {
    it('regexes run on RE2: patterns that backtrack for hours in a backtracking engine answer at once', async () => {
      // JavaScript's engine took 4.5 s on the first with a 45-character name, growing 4x a character.
      for (const re of ['perfwatch_vmstat_compact_daemon_migrat(.*.*)*X', `${'(.*.*)*'.repeat(8)}X`]) {
        const r = await q('/api/v1/query', { query: `{__name__=~"${re}"}`, time: (T0 + HOUR) / 1000 });
        expect(r.status, r.text).to.equal(200);
        expect(r.body.data.result).to.deep.equal([]);
      }
      const look = await q('/api/v1/query', { query: `${CPU}{mode=~"(?=softirq$)(?:.|.|.|.|.|.|.|.|.|.|.)*X"}`, time: (T0 + HOUR) / 1000 });
      expect(look.status).to.equal(400);
      expect(look.body.error).to.match(/invalid or unsupported Perl syntax/);
    });

    it('a query past its timeout stops during evaluation, and /health answers all the while (heavy nested subqueries)', async () => {
      // Three subqueries deep at 1-second steps: some 8 billion window steps (over 2 hours of 1-second
      // points, 32 series, twice), many times the 3 s timeout's worth on any machine this runs on.
      const sub = (e: string, range: string) => `max_over_time((${e})[${range}:1s])`;
      const heavy = q('/api/v1/query', { query: sub(sub(sub(`rate(${CPU}[5m])`, '2h'), '2h'), '4h'), time: (T0 + 4 * HOUR) / 1000, timeout: '3s' }, { headers: { 'x-perfwatch-tier': 'raw' } });
      let done = false;
      const answered = heavy.then((r) => {
        done = true;
        return r;
      });
      let healthy = 0;
      while (!done) {
        const h = await call(t.url, 'GET', '/health');
        expect(h.status).to.equal(200);
        if (!done) healthy++;
        await new Promise((r) => setTimeout(r, 50));
      }
      const r = await answered;
      expect(r.status, r.text).to.equal(503);
      expect(r.body.errorType).to.equal('timeout');
      // Answers to /health kept coming while the query computed (the event loop was not held).
      console.log(`      /health answered ${healthy} times while the query ran`);
    expect(healthy).to.be.greaterThan(10);
    });
  });

  describe('errors as Prometheus answers them', () => {
    const cases: [string, string, Record<string, string | number>, number, string, RegExp][] = [
      ['parse error', '/api/v1/query', { query: 'sum(' }, 400, 'bad_data', /^invalid parameter "query": 1:5: parse error: unexpected end of input$/],
      ['no query', '/api/v1/query', {}, 400, 'bad_data', /invalid parameter "query".*no expression found in input/],
      ['unknown function', '/api/v1/query', { query: 'no_such_function(x[5m], 0.5, 0.5)' }, 400, 'bad_data', /unknown function with name "no_such_function"/],
      ['unsupported experimental function', '/api/v1/query', { query: 'info(x)' }, 400, 'bad_data', /not supported by PerfWatch's PromQL engine: info\(\)/],
      ['unsupported experimental aggregation', '/api/v1/query', { query: 'limit_ratio(0.5, x)' }, 400, 'bad_data', /limit_ratio \(experimental\)/],
      ['set operator with a scalar', '/api/v1/query', { query: '1 and x' }, 400, 'bad_data', /set operator "and" not allowed in binary scalar expression/],
      ['grouping on a set operator', '/api/v1/query', { query: 'a and on(x) group_left b' }, 400, 'bad_data', /no grouping allowed for "and" operation/],
      ['subquery of a scalar', '/api/v1/query', { query: '1[30m:1m]' }, 400, 'bad_data', /subquery is only allowed on instant vector, got scalar instead/],
      ['@ after a function', '/api/v1/query', { query: 'rate(x[5m]) @ 100' }, 400, 'bad_data', /@ modifier must be preceded by an instant vector selector or range vector selector or a subquery/],
      ['a label in on() and group_left()', '/api/v1/query', { query: 'a * on(x) group_left(x) b' }, 400, 'bad_data', /label "x" must not occur in ON and GROUP clause at once/],
      ['a string in a range query', '/api/v1/query_range', { query: '"hello"', start: 0, end: 60, step: 15 }, 400, 'bad_data', /invalid expression type "string" for range query/],
      ['lookahead, which RE2 has not', '/api/v1/query', { query: 'x{a=~"(?=b)b"}' }, 400, 'bad_data', /error parsing regexp: invalid or unsupported Perl syntax/],
      ['wrong argument type', '/api/v1/query', { query: 'rate(x)' }, 400, 'bad_data', /expected type range vector in call to function "rate", got instant vector/],
      ['scalar comparison without bool', '/api/v1/query', { query: '1 > 2' }, 400, 'bad_data', /comparisons between scalars must use BOOL modifier/],
      ['empty matchers', '/api/v1/query', { query: '{a=""}' }, 400, 'bad_data', /vector selector must contain at least one non-empty matcher/],
      ['bad regex', '/api/v1/query', { query: 'x{a=~"("}' }, 400, 'bad_data', /error parsing regexp/],
      ['bad time', '/api/v1/query', { query: '1', time: 'yesterday' }, 400, 'bad_data', /^invalid parameter "time": cannot parse "yesterday" to a valid timestamp$/],
      ['end before start', '/api/v1/query_range', { query: '1', start: 100, end: 50, step: 1 }, 400, 'bad_data', /^invalid parameter "end": end timestamp must not be before start time$/],
      ['zero step', '/api/v1/query_range', { query: '1', start: 0, end: 50, step: 0 }, 400, 'bad_data', /zero or negative query resolution step widths are not accepted/],
      ['bad step', '/api/v1/query_range', { query: '1', start: 0, end: 50, step: 'often' }, 400, 'bad_data', /^invalid parameter "step": cannot parse "often" to a valid duration$/],
      ['too many points', '/api/v1/query_range', { query: '1', start: 0, end: 11_001, step: 1 }, 400, 'bad_data', /^exceeded maximum resolution of 11,000 points per timeseries/],
      ['range vector in a range query', '/api/v1/query_range', { query: `${LOAD}[5m]`, start: 0, end: 60, step: 15 }, 400, 'bad_data', /invalid expression type "range vector" for range query/],
      ['many-to-many', '/api/v1/query', { query: `${LOAD} + ignoring(host) perfwatch_load_average_5m`, time: (T0 + HOUR) / 1000 }, 422, 'execution', /many-to-many matching not allowed|many-to-one matching must be explicit/],
      ['unknown route', '/api/v1/targets', {}, 404, 'not_found', /no route GET \/prometheus\/api\/v1\/targets/],
      ['timeout passed', '/api/v1/query_range', { query: `rate(${CPU}[5m])`, start: T0 / 1000, end: (T0 + HOUR) / 1000, step: 60, timeout: '0s' }, 503, 'timeout', /^query timed out in expression evaluation$/],
      ['bad timeout', '/api/v1/query', { query: '1', timeout: 'soon' }, 400, 'bad_data', /^invalid parameter "timeout": cannot parse "soon" to a valid duration$/],
    ];
    for (const [what, path, params, status, type, msg] of cases) {
      it(what, async () => {
        const r = await q(path, params);
        expect(r.status, r.text).to.equal(status);
        expect(r.body.status).to.equal('error');
        expect(r.body.errorType).to.equal(type);
        expect(r.body.error).to.match(msg);
      });
    }
    it('odd input answers 4xx or a result, never a crash: times out of range, millennia, deep nesting, repeated parameters', async () => {
      const far = await q('/api/v1/query', { query: '1', time: 9e12 });
      expect(far.status).to.equal(400);
      expect(far.body.errorType).to.equal('bad_data');
      // Millennia at a step of ~1,000 years: only where data is gets read.
      const wide = await q('/api/v1/query_range', { query: `rate(${CPU}{cpu="0",mode="user"}[3650d])`, start: -8e12, end: 8e12, step: 2e9 });
      expect(wide.status, wide.text).to.equal(200);
      const deep = await q('/api/v1/query', { query: `${'('.repeat(2000)}1${')'.repeat(2000)}`, time: 1 });
      expect(deep.status, deep.text).to.be.oneOf([200, 400]);
      const r = await call(t.url, 'GET', `/prometheus/api/v1/query?query=2&query=3&time=1`, { headers: { authorization: `Bearer ${token}` } });
      expect(r.status, r.text).to.equal(200);
      expect(r.body.data.result).to.deep.equal([1, '3']);
      const inj = await q('/api/v1/query', { query: `${LOAD}{host="x' OR 1=1; DROP TABLE snapshots; --"}`, time: (T0 + HOUR) / 1000 });
      expect(inj.status).to.equal(200);
      expect(inj.body.data.result).to.deep.equal([]);
      const name = await q('/api/v1/query', { query: `{__name__="x'; DROP TABLE hosts; --"}`, time: (T0 + HOUR) / 1000 });
      expect(name.body.data.result).to.deep.equal([]);
      expect((await q('/api/v1/query', { query: LOAD, time: (T0 + HOUR) / 1000 })).body.data.result).to.have.length(2);
    });

    it('formats values as Prometheus does: no exponents, +Inf, -Inf, NaN', async () => {
      for (const [query, want] of [['0.0000001', '0.0000001'], ['1e21', '1000000000000000000000'], ['-2.5e-8', '-0.000000025'], ['1/0', '+Inf'], ['-1/0', '-Inf'], ['0/0', 'NaN'], ['0.1 + 0.2', '0.30000000000000004']]) {
        const r = await q('/api/v1/query', { query: query!, time: 1 });
        expect(r.body.data.result, query).to.deep.equal([1, want]);
      }
    });

    it('11,000 points is still allowed', async () => {
      const r = await q('/api/v1/query_range', { query: '1', start: 0, end: 11_000, step: 1 });
      expect(r.status, r.text).to.equal(200);
      expect(r.body.data.result[0].values).to.have.length(11_001);
    });
  });

  describe('authentication', () => {
    const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    const ok = async (auth: string | null) => (await q('/api/v1/query', { query: '1+1' }, { auth })).status;

    it('Bearer API token, Bearer access token, basic auth with a token as password', async () => {
      expect(await ok(`Bearer ${token}`)).to.equal(200);
      expect(await ok(basic('grafana', token))).to.equal(200);
      expect(await ok(basic('', token))).to.equal(200);
      const admin = await login(t.url, ADMIN.username, ADMIN.password);
      expect(await ok(`Bearer ${admin.token}`)).to.equal(200);
      const viewer = await createUser(t.url, admin.token, { username: 'promql-viewer', role: 'viewer' });
      expect(await ok(basic('x', viewer.session.token))).to.equal(200);
    });

    it('none, a bad token, a bad basic password, a revoked token: 401 in the Prometheus envelope', async () => {
      for (const auth of [null, 'Bearer pw_nope', basic('admin', ADMIN.password), basic('grafana', `${token}x`), 'Digest abc', 'Basic !!!']) {
        const r = await q('/api/v1/query', { query: '1' }, { auth });
        expect(r.status, `${auth}: ${r.text}`).to.equal(401);
        expect(r.body.status).to.equal('error');
        expect(r.body.errorType).to.equal('unauthorized');
        expect(r.headers.get('www-authenticate')).to.include('Basic');
      }
      const admin = await login(t.url, ADMIN.username, ADMIN.password);
      const c = await call(t.url, 'POST', '/api/v1/tokens', { token: admin.token, body: { name: 'short-lived' } });
      expect(await ok(`Bearer ${c.body.token}`)).to.equal(200);
      expect((await call(t.url, 'DELETE', `/api/v1/tokens/${c.body.id}`, { token: admin.token })).status).to.be.oneOf([200, 204]);
      expect(await ok(`Bearer ${c.body.token}`)).to.equal(401);
    });

    it('a token revoked after use: its next query (started while the token is checked) sends nothing of the answer', async () => {
      const admin = await login(t.url, ADMIN.username, ADMIN.password);
      const c = await call(t.url, 'POST', '/api/v1/tokens', { token: admin.token, body: { name: 'revoked-mid-use', role: 'viewer' } });
      const ask = () => q('/api/v1/query_range', { query: 'perfwatch_load_average_1m', start: T0 / 1000, end: (T0 + HOUR) / 1000, step: 60 }, { auth: `Bearer ${c.body.token}` });
      const before = await ask();
      expect(before.status).to.equal(200);
      expect(before.body.data.result.length).to.be.greaterThan(0);
      expect(before.headers.get('x-perfwatch-tier')).to.be.a('string');
      expect((await call(t.url, 'DELETE', `/api/v1/tokens/${c.body.id}`, { token: admin.token })).status).to.be.oneOf([200, 204]);
      for (let i = 0; i < 2; i++) {
        const after = await ask();
        expect(after.status).to.equal(401);
        expect(after.body).to.deep.equal({ status: 'error', errorType: 'unauthorized', error: after.body.error });
        expect(after.headers.get('x-perfwatch-tier')).to.equal(null);
      }
    });
  });

  describe("holt_winters, Prometheus 2's name of double_exponential_smoothing", () => {
    it('parses as the new name; errors after it point into the query as written; strings and label values are left alone', () => {
      const fn = (q: string) => { const e = parsePromQL(q); return e.kind === 'call' ? e.fn : e.kind; };
      expect(fn('holt_winters(x[5m], 0.5, 0.5)')).to.equal('double_exponential_smoothing');
      expect(JSON.stringify(parsePromQL('holt_winters (x[5m], 0.5, 0.5) + holt_winters(y[1m], 0.1, 0.2)'))).to.equal(JSON.stringify(parsePromQL('double_exponential_smoothing(x[5m], 0.5, 0.5) + double_exponential_smoothing(y[1m], 0.1, 0.2)')));
      expect(() => parsePromQL('holt_winters(x[5m], 0.5, 0.5) + holt_winters(x[5m], 0.5, 0.5) + nope(x)')).to.throw('1:65: parse error: unknown function with name "nope"');
      expect(() => parsePromQL('holt_winters(x[5m], 0.5, 0.5) +\n  )')).to.throw(/^2:3: /);
      const sel = parsePromQL('x{a="holt_winters(x[5m], 0.5, 0.5)"}');
      expect(sel.kind === 'vector' && sel.matchers.find((m) => m.label === 'a')?.value).to.equal('holt_winters(x[5m], 0.5, 0.5)');
      expect(() => parsePromQL('holt_winterz(x[5m], 0.5, 0.5)')).to.throw('unknown function with name "holt_winterz"');
    });
  });

  describe('RecentCredentials (which requests start their work while their token is checked)', () => {
    it('remembers a credential for its ttl, forgets it on a failure, and holds at most `max`', () => {
      let now = 1_000;
      const r = new RecentCredentials(60_000, 3, () => now);
      expect(r.has('a')).to.equal(false);
      r.valid('a');
      expect(r.has('a')).to.equal(true);
      expect(r.has('b')).to.equal(false);
      now += 59_999;
      expect(r.has('a')).to.equal(true);
      now += 1;
      expect(r.has('a')).to.equal(false);
      r.valid('a');
      r.invalid('a');
      expect(r.has('a')).to.equal(false);
      for (const k of ['a', 'b', 'c', 'd']) r.valid(k);
      expect(['a', 'b', 'c', 'd'].map((k) => r.has(k))).to.deep.equal([false, true, true, true]);
      // validated again: the newest, so the next one over the bound pushes out another
      r.valid('b');
      r.valid('e');
      expect(['b', 'c', 'd', 'e'].map((k) => r.has(k))).to.deep.equal([true, false, true, true]);
    });
  });

  describe('promtool', () => {
    // promtool 2.42 (Debian 12) sends no credentials of its own; Go's HTTP client sends the URL's
    // user info as basic auth, and newer promtools take --http.config.file (docs/prometheus-api.md).
    const run = promisify(execFile);
    const server = () => `${t.url.replace('://', `://promtool:${token}@`)}/prometheus`;
    before(async function () {
      // npm test installs Debian's prometheus (scripts/test.mjs); a bare mocha run may not have it.
      const have = await run('promtool', ['--version']).then(() => true, () => false);
      if (!have) {
        process.stdout.write('      (promtool is not installed: apt-get install prometheus, or run npm test)\n');
        this.skip();
      }
    });

    it('promtool query instant prints the reference values', async () => {
      const time = T0 + 2 * HOUR;
      const { stdout } = await run('promtool', ['query', 'instant', `--time=${new Date(time).toISOString()}`, server(), LOAD]);
      const want = inst(LOAD, all, time);
      for (const { labels, value } of want.values()) expect(stdout).to.include(`${LOAD}{host="${labels.host}"} => ${value} @[${time / 1000}]`);
      expect(stdout.trim().split('\n')).to.have.length(want.size);
    });

    it('promtool query range, and its errors for a bad query and for no credentials', async () => {
      const start = T0 + HOUR;
      const { stdout } = await run('promtool', ['query', 'range', `--start=${new Date(start).toISOString()}`, `--end=${new Date(start + 5 * MIN).toISOString()}`, '--step=1m', server(), `sum by (host) (rate(${CPU}[5m]))`]);
      const ref = agg('sum', fnr('rate', CPU, all, 5 * MIN, start + 2 * MIN), ['host']);
      // promtool prints a block per series: a line `{labels} =>`, then `value @[time]` lines.
      const blocks = new Map<string, string[]>();
      let current: string[] | undefined;
      for (const line of stdout.trim().split('\n')) {
        const head = /^(\{.*\}) =>$/.exec(line);
        if (head) blocks.set(head[1]!, (current = []));
        else current?.push(line.trim());
      }
      expect([...blocks.keys()].sort()).to.deep.equal([...ref.values()].map((e) => `{host="${e.labels.host}"}`).sort());
      // Values as numbers: the reference sums in its own order, so the last bits may differ (relative 1e-12).
      for (const { labels, value } of ref.values()) {
        const at = `@[${(start + 2 * MIN) / 1000}]`;
        const line = blocks.get(`{host="${labels.host}"}`)!.find((l) => l.endsWith(` ${at}`));
        expect(line, `${labels.host} ${at}`).to.not.equal(undefined);
        const got = Number(line!.slice(0, -at.length - 1));
        expect(got).to.be.closeTo(value, Math.abs(value) * 1e-12);
      }
      const bad = await run('promtool', ['query', 'instant', server(), 'sum(']).then(() => undefined, (e: { code: number; stderr: string }) => e);
      expect(bad?.code).to.equal(1);
      expect(bad?.stderr).to.include('bad_data');
      const noAuth = await run('promtool', ['query', 'instant', `${t.url}/prometheus`, '1']).then(() => undefined, (e: { code: number; stderr: string }) => e);
      expect(noAuth?.code).to.equal(1);
      expect(noAuth?.stderr).to.include('401');
    });
  });
});
