/**
 * The query API's answers written as text (api/src/promql/format.ts) are, byte for byte, what
 * JSON.stringify gives of Prometheus's answer shape built as objects: random label sets (quotes,
 * backslashes, control characters, non-ASCII, names that sort differently by code unit), values
 * across every kind of float (NaN, ±Inf, -0, exponents both ways), gaps, every result type.
 */
import { expect } from 'chai';
import { labelsKey, type Labels } from '@perfwatch/store';
import { formatFloat, type ResultValue } from '../src/promql/eval.js';
import { answerJson } from '../src/promql/format.js';
import { rng } from '../../store/test/synth.js';

/** The answer as objects, then JSON.stringify: the reference. */
function reference(kind: 'instant' | 'range', v: ResultValue, times: Float64Array): string {
  const metric = (l: Labels) => Object.fromEntries(Object.keys(l).sort().map((k) => [k, l[k]]));
  const sorted = <T extends { labels: Labels }>(xs: T[]) => [...xs].sort((a, b) => (labelsKey(a.labels) < labelsKey(b.labels) ? -1 : labelsKey(a.labels) > labelsKey(b.labels) ? 1 : 0));
  const t0 = times[0]! / 1000;
  if (kind === 'instant') {
    if (v.type === 'scalar') return JSON.stringify({ resultType: 'scalar', result: [t0, formatFloat(v.v[0]!)] });
    if (v.type === 'string') return JSON.stringify({ resultType: 'string', result: [t0, v.s] });
    if (v.type === 'matrixResult') return JSON.stringify({ resultType: 'matrix', result: sorted(v.series).map((s) => ({ metric: metric(s.labels), values: s.t.map((t, i) => [t / 1000, formatFloat(s.v[i]!)]) })) });
    if (v.type !== 'vector') throw new Error('unexpected');
    const present = v.series.filter((s) => s.ok[0]);
    return JSON.stringify({ resultType: 'vector', result: (v.ordered ? present : sorted(present)).map((s) => ({ metric: metric(s.labels), value: [t0, formatFloat(s.v[0]!)] })) });
  }
  if (v.type === 'scalar') return JSON.stringify({ resultType: 'matrix', result: [{ metric: {}, values: Array.from(times, (t, k) => [t / 1000, formatFloat(v.v[k]!)]) }] });
  if (v.type !== 'vector') throw new Error('unexpected');
  const result = [];
  for (const s of sorted(v.series)) {
    const values = [];
    for (let k = 0; k < times.length; k++) if (s.ok[k]) values.push([times[k]! / 1000, formatFloat(s.v[k]!)]);
    if (values.length) result.push({ metric: metric(s.labels), values });
  }
  return JSON.stringify({ resultType: 'matrix', result });
}

describe('promql answers written as text (format.ts)', () => {
  const r = rng(20261207);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const strings = ['', 'a', 'Zeta', 'zeta', 'cpu0', 'cpu10', 'say "hi"', 'back\\slash', 'tab\there', 'nl\nx', '\u0001ctl', 'Grüße', '日本', '\u{1F600}', '__name__'];
  const values = [0, -0, 1, -1, 0.1, 1 / 3, 1e21, 1.5e-7, -2.5e300, 5e-324, Number.MAX_VALUE, NaN, Infinity, -Infinity, 123456789.125, 2 ** 53 + 2];
  const labels = (): Labels => {
    const l: Labels = {};
    const n = Math.floor(r() * 4);
    for (let i = 0; i < n; i++) l[pick(['__name__', 'host', 'cpu', 'mode', 'a', 'B', 'é', 'le'])] = pick(strings);
    return l;
  };
  const value = () => (r() < 0.5 ? pick(values) : (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20));
  const times = (n: number) => Float64Array.from({ length: n }, (_, k) => 1_700_000_000_123 + k * 15_000 + (r() < 0.1 ? 7 : 0));

  it('range answers: vectors with gaps, empty series, scalars', () => {
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(r() * 30);
      const ts = times(n);
      const series = Array.from({ length: Math.floor(r() * 6) }, () => {
        const ok = Uint8Array.from({ length: n }, () => (r() < 0.8 ? 1 : 0));
        return { labels: labels(), v: Float64Array.from({ length: n }, value), ok };
      });
      const vec: ResultValue = { type: 'vector', series };
      expect(answerJson('range', vec, ts)).to.equal(reference('range', vec, ts));
      const sc: ResultValue = { type: 'scalar', v: Float64Array.from({ length: n }, value) };
      expect(answerJson('range', sc, ts)).to.equal(reference('range', sc, ts));
    }
  });

  it('instant answers: vectors (ordered or not), scalars, strings, range vectors', () => {
    for (let round = 0; round < 200; round++) {
      const ts = times(1);
      const series = Array.from({ length: Math.floor(r() * 6) }, () => ({ labels: labels(), v: Float64Array.of(value()), ok: Uint8Array.of(r() < 0.8 ? 1 : 0) }));
      for (const v of [
        { type: 'vector', series, ordered: r() < 0.5 },
        { type: 'scalar', v: Float64Array.of(value()) },
        { type: 'string', s: pick(strings) },
        { type: 'matrixResult', series: series.map((s) => ({ labels: s.labels, t: Array.from(times(3)), v: [value(), value(), value()] })) },
      ] as ResultValue[]) {
        expect(answerJson('instant', v, ts)).to.equal(reference('instant', v, ts));
      }
    }
  });

  it('a string or a range vector is no answer to a range query', () => {
    expect(() => answerJson('range', { type: 'string', s: 'x' }, times(2))).to.throw(/invalid expression type "string" for range query/);
    expect(() => answerJson('range', { type: 'matrix', series: [], range: 1, offset: 0, at: undefined }, times(2))).to.throw(/invalid expression type "range vector" for range query/);
  });
});
