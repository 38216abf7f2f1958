/**
 * Variable queries (metricFindQuery):
 *   hosts()                              every host with history
 *   metrics()  /  metrics(<regex>)       metric names of the catalog (optionally those matching)
 *   label_values(<metric>, <label>)      values of a label (host gives host names)
 *   label_values(<metric>, <label>, <hosts>)   ... of those hosts only: a host, $host (multi and All
 *                                        work), or several separated by | or ,
 */
import { ApiRequestError } from './api';
import { ALL_HOSTS } from './interpolate';
import { HostInfo, MetricDescriptor } from './types';

export type VariableQuery =
  | { kind: 'hosts' }
  | { kind: 'metrics'; match?: string }
  | { kind: 'label_values'; metric: string; label: string; hosts?: string };

const FORMS =
  'hosts(), metrics(), metrics(<regex>), label_values(<metric>, <label>) or label_values(<metric>, <label>, <hosts>)';

export class VariableQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VariableQueryError';
  }
}

/** Parses a variable query (before or after interpolation). */
export function parseVariableQuery(text: string): VariableQuery {
  const q = text.trim();
  const m = /^([a-z_]+)\s*\(([\s\S]*)\)$/.exec(q);
  if (!m) {
    throw new VariableQueryError(`"${q.slice(0, 100)}" is not a PerfWatch variable query: use ${FORMS}`);
  }
  const inner = m[2]!.trim();
  const args = inner === '' ? [] : inner.split(',').map((a) => a.trim());
  switch (m[1]) {
    case 'hosts':
      if (args.length) {
        throw new VariableQueryError('hosts() takes no arguments');
      }
      return { kind: 'hosts' };
    case 'metrics':
      // a regex may contain commas: everything between the parentheses
      return inner ? { kind: 'metrics', match: inner } : { kind: 'metrics' };
    case 'label_values': {
      // fewer than two arguments leave label undefined
      const [metric, label, ...rest] = args;
      if (!metric || !label) {
        throw new VariableQueryError(
          'label_values needs a metric and a label: label_values(<metric>, <label>[, <hosts>])'
        );
      }
      const hosts = rest.join(',').trim();
      return { kind: 'label_values', metric, label, ...(hosts ? { hosts } : {}) };
    }
    default:
      throw new VariableQueryError(`unknown function ${m[1]}(): use ${FORMS}`);
  }
}

/** The host list of label_values' third argument: "a|b", "a,b", "(a|b)" or "{a,b}". */
export function splitHosts(text: string): string[] {
  const inner = text.replace(/^[({]\s*/, '').replace(/\s*[)}]$/, '');
  return inner
    .split(/[|,]/)
    .map((h) => h.trim())
    .filter((h) => h !== '');
}

/** What answers variable queries (the DataSource). */
export interface VariableSource {
  getHosts(): Promise<HostInfo[]>;
  getMetrics(): Promise<MetricDescriptor[]>;
  getLabelValues(metric: string, label: string, hosts?: string[]): Promise<string[]>;
}

function compileRegex(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new ApiRequestError(
      `metrics(${source}): not a valid regular expression: ${(err as Error).message}`,
      400,
      'INVALID_REGEX'
    );
  }
}

/** The values of a parsed variable query. */
export async function variableValues(src: VariableSource, q: VariableQuery): Promise<string[]> {
  switch (q.kind) {
    case 'hosts':
      return (await src.getHosts()).map((h) => h.name);
    case 'metrics': {
      const re = q.match ? compileRegex(q.match) : undefined;
      return (await src.getMetrics()).map((m) => m.name).filter((n) => !re || re.test(n));
    }
    case 'label_values': {
      const hosts = q.hosts ? splitHosts(q.hosts) : [];
      return src.getLabelValues(q.metric, q.label, hosts.some((h) => ALL_HOSTS.has(h)) ? [] : hosts);
    }
  }
}
