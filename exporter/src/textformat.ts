/**
 * The Prometheus text exposition format 0.0.4, as node_exporter's textfile collector accepts it
 * (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format): `# HELP` and
 * `# TYPE` lines, other comments, and `name{label="value",...} value` samples. Pure; an error
 * names the file and the line. Client-side timestamps are refused, as node_exporter refuses them.
 * Histograms and summaries are flattened into their `_bucket`/`_sum`/`_count` (or quantile)
 * series, served as gauges: queries (rate, histogram_quantile) work on them unchanged.
 */
import { ParseError } from './procfs/errors.js';

export interface TextSample {
  labels: [string, string][];
  value: number;
}

export interface TextFamily {
  name: string;
  type: 'counter' | 'gauge';
  /** undefined when the file has no HELP line for it. */
  help?: string;
  samples: TextSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'untyped', 'histogram', 'summary']);
const SUFFIXES: Record<string, readonly string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count', ''] };
const NAME_HEAD = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

function parseValue(token: string, file: string, n: number): number {
  if (token === 'NaN') return NaN;
  if (token === '+Inf' || token === 'Inf') return Infinity;
  if (token === '-Inf') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(token)) throw new ParseError(file, n, `not a sample value: ${JSON.stringify(token)}`);
  return Number(token);
}

/** `{a="x",b="y"}` starting at text[i] === '{'; returns the pairs and the index after '}'. */
function parseLabels(text: string, i: number, file: string, n: number): [[string, string][], number] {
  const out: [string, string][] = [];
  i++;
  for (;;) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (text[i] === '}') return [out, i + 1];
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i))?.[0];
    if (!name) throw new ParseError(file, n, `bad label name at column ${i + 1}`);
    if (name.startsWith('__')) throw new ParseError(file, n, `label names starting with __ are reserved: ${name}`);
    i += name.length;
    while (text[i] === ' ') i++;
    if (text[i] !== '=' || text[i + 1] !== '"') throw new ParseError(file, n, `expected ="value" after label ${name}`);
    i += 2;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new ParseError(file, n, `unterminated value of label ${name}`);
      i++;
      if (c === '"') break;
      if (c === '\\') {
        const e = text[i++];
        if (e === 'n') value += '\n';
        else if (e === '\\' || e === '"') value += e;
        else throw new ParseError(file, n, `bad escape \\${e ?? ''} in label ${name}`);
      } else value += c;
    }
    if (out.some(([k]) => k === name)) throw new ParseError(file, n, `label ${name} given twice`);
    out.push([name, value]);
    while (text[i] === ' ') i++;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new ParseError(file, n, `expected , or } after label ${name}`);
  }
}

export function parseTextFormat(text: string, file: string): TextFamily[] {
  const families = new Map<string, TextFamily>();
  const declared = new Map<string, { type?: string; help?: string; seen: boolean }>();
  const series = new Set<string>();
  const meta = (name: string) => {
    let m = declared.get(name);
    if (!m) declared.set(name, (m = { seen: false }));
    return m;
  };
  /** the declared family a sample name belongs to (histogram/summary suffixes included). */
  const owner = (name: string): [string, string] | undefined => {
    for (const [base, m] of declared) {
      const sufs = m.type ? SUFFIXES[m.type] : undefined;
      if (sufs) for (const s of sufs) if (name === base + s) return [base, m.type!];
    }
    return undefined;
  };
  const lines = text.split('\n');
  if (text.length > 0 && !text.endsWith('\n')) throw new ParseError(file, lines.length, 'the last line has no newline (was the file still being written?)');
  lines.forEach((raw, idx) => {
    const n = idx + 1;
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ''] = m as unknown as [string, string, string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new ParseError(file, n, `bad metric name ${JSON.stringify(name)}`);
      const d = meta(name);
      if (kind === 'HELP') {
        if (d.help !== undefined) throw new ParseError(file, n, `second HELP line for ${name}`);
        d.help = rest.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      } else {
        const type = rest.trim();
        if (!TYPES.has(type)) throw new ParseError(file, n, `unknown type ${JSON.stringify(type)} for ${name}`);
        if (d.type !== undefined) throw new ParseError(file, n, `second TYPE line for ${name}`);
        if (d.seen) throw new ParseError(file, n, `TYPE line for ${name} after its samples`);
        d.type = type;
      }
      return;
    }
    const name = NAME_HEAD.exec(line)?.[0];
    if (!name) throw new ParseError(file, n, `expected a metric name, got ${JSON.stringify(line.slice(0, 40))}`);
    let i = name.length;
    let labels: [string, string][] = [];
    if (line[i] === '{') [labels, i] = parseLabels(line, i, file, n);
    const rest = line.slice(i).trim().split(/\s+/);
    if (rest[0] === undefined || rest[0] === '') throw new ParseError(file, n, `no value for ${name}`);
    if (rest.length > 1) throw new ParseError(file, n, rest.length === 2 ? `client-side timestamps are not supported (${name})` : `unexpected text after the value of ${name}`);
    const value = parseValue(rest[0], file, n);
    const own = owner(name);
    const base = own?.[0] ?? name;
    const d = meta(base);
    d.seen = true;
    const key = `${name}${JSON.stringify([...labels].sort())}`;
    if (series.has(key)) throw new ParseError(file, n, `duplicate series ${name}${JSON.stringify(Object.fromEntries(labels))}`);
    series.add(key);
    const declaredType = own?.[1] ?? d.type ?? 'untyped';
    let fam = families.get(name);
    if (!fam) {
      const help = own ? (d.help === undefined ? undefined : `${d.help} (${declaredType} ${base}, ${name.slice(base.length) || 'quantile'})`) : d.help;
      fam = { name, type: declaredType === 'counter' ? 'counter' : 'gauge', samples: [] };
      if (help !== undefined) fam.help = help;
      families.set(name, fam);
    }
    fam.samples.push({ labels, value });
  });
  for (const [name, d] of declared) {
    if (d.type === 'counter' && families.get(name)?.samples.some((s) => s.value < 0)) {
      throw new ParseError(file, 1, `counter ${name} has a negative value`);
    }
  }
  return [...families.values()];
}
