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
import { apiRequest, ApiRequestError, toApiError } from './api';
import { annotationsFrame, resultFrames } from './frames';
import { checkHealth, HealthResult } from './health';
import { interpolateHosts, interpolateQuery, toApiTarget } from './interpolate';
import {
  ANNOTATION_KINDS,
  ANNOTATIONS_QUERY_TYPE,
  AnnotationKind,
  ApiAnnotation,
  ApiQueryRequest,
  ApiQueryResult,
  DEFAULT_QUERY,
  HostInfo,
  MetricDescriptor,
  PerfWatchOptions,
  PerfWatchQuery,
} from './types';
import { parseVariableQuery, splitHosts } from './variables';
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
      const hosts = interpolateHosts(a.hosts, request.scopedVars);
      data.push(annotationsFrame(a.refId, await this.getAnnotations(from, to, hosts, a.kinds)));
    }
    if (targets.length) {
      const body: ApiQueryRequest = {
        from,
        to,
        maxDataPoints: Math.min(Math.max(Math.round(request.maxDataPoints ?? 1000), 1), 11_000),
        ...(request.intervalMs ? { intervalMs: Math.max(1, Math.round(request.intervalMs)) } : {}),
        targets: targets.map(toApiTarget),
      };
      try {
        const { results } = await apiRequest<{ results: ApiQueryResult[] }>(this.proxyUrl, '/api/v1/query', {
          method: 'POST',
          body,
          requestId: request.requestId,
        });
        for (const r of results) {
          data.push(...resultFrames(r, targets.find((t) => t.refId === r.refId)?.legendFormat));
        }
      } catch (e) {
        const err = toApiError(e);
        // The API names the failing target: `target "B": ...`.
        const refId = /^target "([^"]*)"/.exec(err.message)?.[1];
        errors.push({
          message: err.code ? `${err.code}: ${err.message}` : err.message,
          status: err.status,
          ...(refId ? { refId } : {}),
        });
      }
    }
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
    const joined = (v: unknown) => (Array.isArray(v) ? v.map(String).join('|') : String(v ?? ''));
    const q = parseVariableQuery(getTemplateSrv().replace(text, options?.scopedVars, joined));
    let values: string[];
    switch (q.kind) {
      case 'hosts':
        values = (await this.getHosts()).map((h) => h.name);
        break;
      case 'metrics': {
        const re = q.match ? compileRegex(q.match) : undefined;
        values = (await this.getMetrics()).map((m) => m.name).filter((n) => !re || re.test(n));
        break;
      }
      case 'label_values': {
        const hosts = q.hosts ? splitHosts(q.hosts) : [];
        const all = hosts.some((h) => h === '$__all' || h === '*' || h === '.*');
        values = await this.getLabelValues(q.metric, q.label, all ? [] : hosts);
        break;
      }
    }
    return values.map((text) => ({ text, value: text }));
  }

  async testDatasource(): Promise<HealthResult> {
    return checkHealth(this.proxyUrl, this.apiUrl);
  }
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
