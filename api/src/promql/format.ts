/**
 * A query's value as the `data` of Prometheus's query API answer, written straight to JSON text
 * (what JSON.stringify of Prometheus's shape would give, byte for byte; format.test.ts holds it to
 * that): no array per point, no second pass. Runs where the query was evaluated (a query worker,
 * engine.ts), so the api's thread only sends the text.
 */
import { labelsKey, type Labels } from '@perfwatch/store';
import { formatFloat, type ResultValue } from './eval.js';
import { badData, PromError } from './errors.js';

/** An instant query's answer (query) or a range query's (query_range). */
export type AnswerKind = 'instant' | 'range';

/** A label set as Prometheus writes it: keys in order. */
function metricJson(l: Labels): string {
  const keys = Object.keys(l).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) out += `${i ? ',' : ''}${JSON.stringify(keys[i])}:${JSON.stringify(l[keys[i]!])}`;
  return `${out}}`;
}

/** A timestamp (ms) as Prometheus's seconds, and a value as its string. */
const point = (ms: number, v: number) => `[${ms / 1000},"${formatFloat(v)}"]`;

function byLabels<T extends { labels: Labels }>(list: T[]): T[] {
  const keyed = list.map((s) => ({ s, k: labelsKey(s.labels) }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((x) => x.s);
}

function instantData(v: ResultValue, times: Float64Array): string {
  const t = times[0]!;
  switch (v.type) {
    case 'scalar':
      return `{"resultType":"scalar","result":${point(t, v.v[0]!)}}`;
    case 'string':
      return `{"resultType":"string","result":[${t / 1000},${JSON.stringify(v.s)}]}`;
    case 'matrixResult': {
      const parts = byLabels(v.series).map((s) => {
        let values = '';
        for (let i = 0; i < s.t.length; i++) values += (i ? ',' : '') + point(s.t[i]!, s.v[i]!);
        return `{"metric":${metricJson(s.labels)},"values":[${values}]}`;
      });
      return `{"resultType":"matrix","result":[${parts.join(',')}]}`;
    }
    case 'vector': {
      // sort() and its kin order an instant query's answer; otherwise by labels.
      const present = v.series.filter((s) => s.ok[0]);
      const series = v.ordered ? present : byLabels(present);
      return `{"resultType":"vector","result":[${series.map((s) => `{"metric":${metricJson(s.labels)},"value":${point(t, s.v[0]!)}}`).join(',')}]}`;
    }
    default:
      throw new PromError('execution', `unexpected result type ${v.type}`);
  }
}

function rangeData(v: ResultValue, times: Float64Array): string {
  if (v.type === 'scalar') {
    let values = '';
    for (let k = 0; k < times.length; k++) values += (k ? ',' : '') + point(times[k]!, v.v[k]!);
    return `{"resultType":"matrix","result":[{"metric":{},"values":[${values}]}]}`;
  }
  if (v.type !== 'vector') throw badData(`invalid expression type "${v.type === 'string' ? 'string' : 'range vector'}" for range query, must be Scalar or instant Vector`);
  const parts: string[] = [];
  for (const s of byLabels(v.series)) {
    let values = '';
    for (let k = 0; k < times.length; k++) if (s.ok[k]) values += (values ? ',' : '') + point(times[k]!, s.v[k]!);
    if (values) parts.push(`{"metric":${metricJson(s.labels)},"values":[${values}]}`);
  }
  return `{"resultType":"matrix","result":[${parts.join(',')}]}`;
}

/** The `data` member of the answer to an instant or range query of this value, as JSON text. */
export function answerJson(kind: AnswerKind, v: ResultValue, times: Float64Array): string {
  return kind === 'instant' ? instantData(v, times) : rangeData(v, times);
}
