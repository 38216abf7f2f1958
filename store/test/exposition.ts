/**
 * A parser of the Prometheus text format 0.0.4, for tests that assert on an exposition (the
 * exporter's golden files, the api's /metrics) by its families, labels and values rather than by
 * regular expressions over the whole text, which a sample value's digits can satisfy by chance.
 */

export interface ExpositionFamily {
  /** the name on the sample lines (a histogram's `_bucket`, `_sum`, `_count` are families of their own) */
  name: string;
  help: string;
  type: string;
  samples: { labels: Record<string, string>; value: number | 'measured' }[];
}

export interface ExpositionSample {
  name: string;
  labels: Record<string, string>;
  value: number | 'measured';
}

function unescape(s: string): string {
  return s.replace(/\\(["\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

/**
 * Parses the text format as the exporter and prom-client write it, in order of first appearance.
 * A line it cannot parse throws. `<measured>` (the golden files' mask) reads as 'measured'.
 */
export function parseExposition(text: string): ExpositionFamily[] {
  const out: ExpositionFamily[] = [];
  const byName = new Map<string, ExpositionFamily>();
  const family = (name: string) => {
    let f = byName.get(name);
    if (!f) {
      f = { name, help: '', type: '', samples: [] };
      byName.set(name, f);
      out.push(f);
    }
    return f;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m) {
      family(m[1]!).help = m[2]!.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      continue;
    }
    m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m) {
      family(m[1]!).type = m[2]!;
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`cannot parse exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    for (let l = re.exec(m[2] ?? ''); l; l = re.exec(m[2] ?? '')) labels[l[1]!] = unescape(l[2]!);
    const raw = m[3]!;
    family(m[1]!).samples.push({ labels, value: raw === '<measured>' ? 'measured' : raw === 'NaN' ? NaN : raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  return out;
}

/** Every sample of an exposition with its metric name, in order. */
export function expositionSamples(text: string): ExpositionSample[] {
  return parseExposition(text).flatMap((f) => f.samples.map((s) => ({ name: f.name, labels: s.labels, value: s.value })));
}
