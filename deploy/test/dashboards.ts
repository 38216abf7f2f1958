/**
 * The provisioned dashboards as the tests see them: every file of dashboards/{perfwatch,prometheus},
 * its panels (rows' nested panels included) and the metric names each target queries: PromQL
 * parsed with Prometheus' own grammar (@prometheus-io/lezer-promql), PerfWatch targets by their
 * `metric` field. PromQL targets on `${datasource}` are "switchable": they must also run on
 * PerfWatch's Prometheus-compatible API, whose parser (api/src/promql/parse.ts) says whether it
 * evaluates them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parsePromQL } from '../../api/src/promql/parse.js';
import { ROOT, type Obj } from './helpers.js';

/** The Prometheus variant's data source variable, as panels and targets reference it. */
export const SWITCHABLE_UID = '${datasource}';

export interface Dashboard {
  file: string;
  variant: 'perfwatch' | 'prometheus';
  json: Obj;
}

export function loadDashboards(): Dashboard[] {
  const out: Dashboard[] = [];
  for (const variant of ['perfwatch', 'prometheus'] as const) {
    const dir = join(ROOT, 'dashboards', variant);
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
      out.push({ file: `dashboards/${variant}/${f}`, variant, json: JSON.parse(readFileSync(join(dir, f), 'utf8')) as Obj });
    }
  }
  return out;
}

/** Every panel, those nested in collapsed rows included. */
export function panelsOf(d: Obj): Obj[] {
  const out: Obj[] = [];
  for (const p of (d.panels as Obj[]) ?? []) {
    out.push(p);
    for (const q of (p.panels as Obj[] | undefined) ?? []) out.push(q);
  }
  return out;
}

/**
 * Grafana's variables replaced by values PromQL accepts, as Grafana does before sending a query:
 * $__rate_interval and $__interval by durations, $host (in a label matcher) by a regex.
 */
export function grafanaToPromql(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$__range/g, '5m')
    .replace(/\$\{?host\}?/g, 'a|b');
}

export interface PromqlResult {
  metrics: string[];
  /** offset and text around each syntax error; empty when the expression parses. */
  errors: string[];
}

/** Metric names of a PromQL expression (the identifier of each vector selector) and its syntax errors. */
export function promqlMetrics(expr: string): PromqlResult {
  const src = grafanaToPromql(expr);
  const tree = parser.parse(src);
  const metrics = new Set<string>();
  const errors: string[] = [];
  tree.iterate({
    enter(n) {
      if (n.type.isError) errors.push(`at ${n.from}: ...${src.slice(Math.max(0, n.from - 20), n.from + 20)}...`);
      if (n.name === 'VectorSelector') {
        const id = n.node.getChild('Identifier');
        if (id) metrics.add(src.slice(id.from, id.to));
      }
    },
  });
  return { metrics: [...metrics], errors };
}

/**
 * Why PerfWatch's PromQL API would refuse an expression (its parser's bad_data message, which
 * names the unsupported construct), once Grafana's variables are replaced as in grafanaToPromql;
 * undefined when the API evaluates it.
 */
export function refusedByApi(expr: string): string | undefined {
  try {
    parsePromQL(grafanaToPromql(expr));
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

export interface Query {
  file: string;
  panel: string;
  /** 'promql' for a Prometheus target, 'perfwatch' for a history target. */
  kind: 'promql' | 'perfwatch';
  /** a PromQL target (or variable) on `${datasource}`: Prometheus or PerfWatch's PromQL API. */
  switchable: boolean;
  target: Obj;
  metrics: string[];
  errors: string[];
}

/** Every target of every panel, and the $host variable's query. */
export function queriesOf(d: Dashboard): Query[] {
  const out: Query[] = [];
  for (const p of panelsOf(d.json)) {
    for (const t of (p.targets as Obj[] | undefined) ?? []) {
      const uid = ((t.datasource ?? p.datasource) as Obj | undefined)?.uid;
      if (uid === 'prometheus' || uid === SWITCHABLE_UID) {
        const r = promqlMetrics(String(t.expr));
        out.push({ file: d.file, panel: String(p.title), kind: 'promql', switchable: uid === SWITCHABLE_UID, target: t, ...r });
      } else if (uid === 'perfwatch') {
        out.push({ file: d.file, panel: String(p.title), kind: 'perfwatch', switchable: false, target: t, metrics: [String(t.metric)], errors: [] });
      } else {
        throw new Error(`${d.file}: panel "${String(p.title)}" has a target of datasource ${String(uid)}`);
      }
    }
  }
  for (const v of ((d.json.templating as Obj).list as Obj[]) ?? []) {
    const def = String(v.definition ?? '');
    const lv = /^label_values\((.+),\s*(\w+)\)$/.exec(def);
    if (lv) {
      const r = promqlMetrics(lv[1]!);
      const switchable = (v.datasource as Obj | undefined)?.uid === SWITCHABLE_UID;
      out.push({ file: d.file, panel: `variable $${String(v.name)}`, kind: 'promql', switchable, target: v, ...r });
    }
  }
  return out;
}
