/**
 * The query model dashboards store (targets[]), the datasource options, and the shapes of the
 * PerfWatch API's answers (docs/api.md in the repository).
 */
import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

export type MatcherOp = '=' | '!=' | '=~' | '!~';
export const MATCHER_OPS: MatcherOp[] = ['=', '!=', '=~', '!~'];

export interface LabelMatcher {
  label: string;
  op: MatcherOp;
  value: string;
}

export type AggregationOp = 'sum' | 'avg' | 'min' | 'max';
export const AGGREGATION_OPS: AggregationOp[] = ['sum', 'avg', 'min', 'max'];

export interface Aggregation {
  op: AggregationOp;
  /** labels to keep; [] sums (averages...) everything into one series. */
  by: string[];
}

export type AnnotationKind = 'retention' | 'gap';
export const ANNOTATION_KINDS: AnnotationKind[] = ['retention', 'gap'];

/** One target of a panel: a metric of the catalog, for some hosts, as the API's /api/v1/query takes it. */
export interface PerfWatchQuery extends DataQuery {
  /** a name of GET /api/v1/metrics, e.g. perfwatch_cpu_seconds_total. */
  metric: string;
  /** host names or template variables ("$host"); empty or "$__all": every host. */
  hosts: string[];
  matchers: LabelMatcher[];
  aggregation?: Aggregation;
  /** "{{host}} {{cpu}}": the series' display name; labels in double braces. */
  legendFormat?: string;
  /** counters only: per-second rate (default) or false for the raw counter value. */
  rate?: boolean;
  /** queryType 'annotations': the annotation kinds this query asks for (default both). */
  kinds?: AnnotationKind[];
}

export const ANNOTATIONS_QUERY_TYPE = 'annotations';

export const DEFAULT_QUERY: Partial<PerfWatchQuery> = {
  metric: '',
  hosts: [],
  matchers: [],
};

/** Settings kept in plain jsonData (visible to every viewer of the datasource). */
export interface PerfWatchOptions extends DataSourceJsonData {
  /** where the PerfWatch API listens, e.g. http://perfwatch-api:8000 (no /api/v1). */
  apiUrl?: string;
}

/** Settings Grafana keeps encrypted and uses server-side only (plugin.json routes). */
export interface PerfWatchSecureOptions {
  /** an API token (pw_...) made in the PerfWatch admin UI; viewer role is enough. */
  apiToken?: string;
}

// ---- the API's answers ----------------------------------------------------------------------------

export type CatalogUnit = 'seconds' | 'bytes' | 'ratio' | '';

export interface MetricDescriptor {
  name: string;
  type: 'counter' | 'gauge';
  unit: CatalogUnit;
  help: string;
  labels: string[];
  derived: boolean;
}

export interface HostInfo {
  name: string;
  labels: Record<string, string>;
  firstSeen: string | null;
  lastSeen: string | null;
}

export interface ApiSeries {
  labels: Record<string, string>;
  timestamps: number[];
  values: Array<number | null>;
}

export interface ApiQueryResult {
  refId: string;
  metric: string;
  type: 'counter' | 'gauge';
  unit: CatalogUnit;
  rate: boolean;
  tier: 'raw' | '1m' | '1h';
  /** the PromQL expression the api ran for this target (the same answer from its /prometheus API). */
  expr?: string;
  stepMs: number;
  series: ApiSeries[];
}

export interface ApiQueryTarget {
  refId: string;
  metric: string;
  hosts?: string[];
  matchers?: LabelMatcher[];
  aggregation?: Aggregation;
  rate?: boolean;
}

export interface ApiQueryRequest {
  from: number;
  to: number;
  maxDataPoints?: number;
  intervalMs?: number;
  targets: ApiQueryTarget[];
}

export interface ApiAnnotation {
  kind: AnnotationKind;
  time: number;
  timeEnd: number;
  host?: string;
  title: string;
  text: string;
  tags: string[];
}

/** The body of every API failure. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}
