import {
  CoreApp,
  DataFrame,
  DataQueryError,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceApi,
  DataSourceInstanceSettings,
  MetricFindValue,
  ScopedVars,
} from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import { apiRequest } from './api';
import { annotationsFrame } from './frames';
import { checkHealth, HealthResult } from './health';
import { interpolateHosts, interpolateQuery, joinValues } from './interpolate';
import { runTargets, toQueryError } from './query';
import {
  ANNOTATION_KINDS,
  ANNOTATIONS_QUERY_TYPE,
  AnnotationKind,
  ApiAnnotation,
  DEFAULT_QUERY,
  HostInfo,
  MetricDescriptor,
  PerfWatchOptions,
  PerfWatchQuery,
} from './types';
import { parseVariableQuery, variableValues } from './variables';
import { AnnotationQueryEditor } from './components/AnnotationQueryEditor';

/** The PerfWatch history datasource: POST /api/v1/query through Grafana's data source proxy. */
export class DataSource extends DataSourceApi<PerfWatchQuery, PerfWatchOptions> {
  readonly proxyUrl: string;
  readonly apiUrl?: string;
  private catalog?: Promise<MetricDescriptor[]>;

  constructor(instanceSettings: DataSourceInstanceSettings<PerfWatchOptions>) {
    super(instanceSettings);
    this.proxyUrl = instanceSettings.url ?? '';
    this.apiUrl = instanceSettings.jsonData?.apiUrl;
    this.annotations = {
      QueryEditor: AnnotationQueryEditor,
      prepareAnnotation: (json) => ({
        ...json,
        target: json.target ?? {
          refId: 'Anno',
          queryType: ANNOTATIONS_QUERY_TYPE,
          kinds: [...ANNOTATION_KINDS],
          hosts: [],
          metric: '',
          matchers: [],
        },
      }),
    };
  }

  getDefaultQuery(_: CoreApp): Partial<PerfWatchQuery> {
    return DEFAULT_QUERY;
  }

  filterQuery(query: PerfWatchQuery): boolean {
    return !query.hide && (query.queryType === ANNOTATIONS_QUERY_TYPE || !!query.metric);
  }

  applyTemplateVariables(query: PerfWatchQuery, scopedVars: ScopedVars): PerfWatchQuery {
    return interpolateQuery(query, scopedVars);
  }

  /** Explore ("Explore" from a panel) and mixed panels: the queries with the dashboard's variables replaced. */
  interpolateVariablesInQueries(queries: PerfWatchQuery[], scopedVars: ScopedVars): PerfWatchQuery[] {
    return queries.map((q) => ({ ...this.applyTemplateVariables(q, scopedVars), datasource: this.getRef() }));
  }

  async query(request: DataQueryRequest<PerfWatchQuery>): Promise<DataQueryResponse> {
    const from = request.range.from.valueOf();
    const to = request.range.to.valueOf();
    const visible = request.targets.filter((t) => this.filterQuery(t));
    const annotations = visible.filter((t) => t.queryType === ANNOTATIONS_QUERY_TYPE);
    const targets = visible
      .filter((t) => t.queryType !== ANNOTATIONS_QUERY_TYPE)
      .map((t) => this.applyTemplateVariables(t, request.scopedVars));
    const data: DataFrame[] = [];
    const errors: DataQueryError[] = [];
    for (const a of annotations) {
      try {
        const hosts = interpolateHosts(a.hosts, request.scopedVars);
        data.push(annotationsFrame(a.refId, await this.getAnnotations(from, to, hosts, a.kinds)));
      } catch (err) {
        errors.push({ ...toQueryError(err), refId: a.refId });
      }
    }
    const answered = await runTargets(this.proxyUrl, request, targets);
    data.push(...answered.data);
    errors.push(...answered.errors);
    return errors.length ? { data, errors, error: errors[0] } : { data };
  }

  /** The catalog (GET /api/v1/metrics), asked once per datasource instance and refreshed after a failure. */
  getMetrics(): Promise<MetricDescriptor[]> {
    this.catalog ??= apiRequest<{ metrics: MetricDescriptor[] }>(this.proxyUrl, '/api/v1/metrics').then(
      (r) => r.metrics,
      (err) => {
        this.catalog = undefined;
        throw err;
      }
    );
    return this.catalog;
  }

  async getHosts(): Promise<HostInfo[]> {
    return (await apiRequest<{ hosts: HostInfo[] }>(this.proxyUrl, '/api/v1/hosts')).hosts;
  }

  async getLabelValues(metric: string, label: string, hosts: string[] = []): Promise<string[]> {
    const path = `/api/v1/metrics/${encodeURIComponent(metric)}/labels/${encodeURIComponent(label)}/values`;
    return (
      await apiRequest<{ values: string[] }>(this.proxyUrl, path, {
        params: { host: hosts.length ? hosts : undefined },
      })
    ).values;
  }

  async getAnnotations(from: number, to: number, hosts: string[], kinds?: AnnotationKind[]): Promise<ApiAnnotation[]> {
    const params = { from, to, host: hosts.length ? hosts : undefined, kind: kinds?.length ? kinds : undefined };
    return (await apiRequest<{ annotations: ApiAnnotation[] }>(this.proxyUrl, '/api/v1/annotations', { params }))
      .annotations;
  }

  /** Variable queries: hosts(), metrics([regex]), label_values(metric, label[, hosts]); see variables.ts. */
  async metricFindQuery(
    query: string | { query?: string },
    options?: { scopedVars?: ScopedVars }
  ): Promise<MetricFindValue[]> {
    const text = typeof query === 'string' ? query : (query?.query ?? '');
    const q = parseVariableQuery(getTemplateSrv().replace(text, options?.scopedVars, joinValues('|')));
    return (await variableValues(this, q)).map((value) => ({ text: value, value }));
  }

  async testDatasource(): Promise<HealthResult> {
    return checkHealth(this);
  }
}
