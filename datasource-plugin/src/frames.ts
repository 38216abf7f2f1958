/**
 * The API's query results as Grafana data frames: one frame per series, a time field and a number
 * field carrying the series' labels (host included), the unit as a Grafana unit id and the
 * display name from legendFormat.
 *
 * Units (the API reports the catalog unit and whether a counter was rated):
 * | catalog unit | gauge or raw counter | rated counter (per second)                       |
 * |--------------|----------------------|--------------------------------------------------|
 * | bytes        | bytes                | Bps (bytes/s)                                    |
 * | seconds      | s                    | percentunit: seconds per second is a busy share  |
 * | ratio        | percentunit          | percentunit                                      |
 * | '' (count)   | none (no unit)       | cps (counts/s)                                   |
 */
import { createDataFrame, DataFrame, FieldType } from '@grafana/data';
import { ApiAnnotation, ApiQueryResult, ApiSeries, CatalogUnit } from './types';

export function grafanaUnit(unit: CatalogUnit, rated: boolean): string | undefined {
  switch (unit) {
    case 'bytes':
      return rated ? 'Bps' : 'bytes';
    case 'seconds':
      return rated ? 'percentunit' : 's';
    case 'ratio':
      return 'percentunit';
    default:
      return rated ? 'cps' : undefined;
  }
}

/** "{{host}} {{cpu}}" with the series' labels; unknown labels become empty. */
export function formatLegend(format: string, labels: Record<string, string>): string {
  return format.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, name: string) => labels[name] ?? '');
}

/** Without a legend format: the metric and its labels, as Prometheus shows a series. */
export function defaultDisplayName(metric: string, labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return pairs.length ? `${metric}{${pairs.join(', ')}}` : metric;
}

export function seriesFrame(result: ApiQueryResult, series: ApiSeries, legendFormat?: string): DataFrame {
  const unit = grafanaUnit(result.unit, result.rate);
  const displayName = legendFormat
    ? formatLegend(legendFormat, series.labels)
    : defaultDisplayName(result.metric, series.labels);
  return createDataFrame({
    refId: result.refId,
    name: displayName,
    meta: {
      // what the query inspector shows beside the data
      custom: { tier: result.tier, stepMs: result.stepMs, rate: result.rate, metric: result.metric, expr: result.expr },
      executedQueryString: `${result.expr ?? result.metric} (${result.tier} tier, step ${result.stepMs / 1000}s)`,
    },
    fields: [
      { name: 'Time', type: FieldType.time, values: series.timestamps, config: { interval: result.stepMs } },
      {
        name: 'Value',
        type: FieldType.number,
        values: series.values,
        labels: series.labels,
        config: { displayNameFromDS: displayName, ...(unit ? { unit } : {}) },
      },
    ],
  });
}

/** Every series of a result; a result without series still gives an empty frame (so the panel says "No data" for its refId). */
export function resultFrames(result: ApiQueryResult, legendFormat?: string): DataFrame[] {
  if (!result.series.length) {
    return [
      createDataFrame({
        refId: result.refId,
        name: result.metric,
        fields: [
          { name: 'Time', type: FieldType.time, values: [] },
          { name: 'Value', type: FieldType.number, values: [] },
        ],
      }),
    ];
  }
  return result.series.map((s) => seriesFrame(result, s, legendFormat));
}

/** Annotations as the frame Grafana turns into annotations (fields time, timeEnd, title, text, tags). */
export function annotationsFrame(refId: string, annotations: ApiAnnotation[]): DataFrame {
  return createDataFrame({
    refId,
    name: 'PerfWatch annotations',
    fields: [
      { name: 'time', type: FieldType.time, values: annotations.map((a) => a.time) },
      { name: 'timeEnd', type: FieldType.time, values: annotations.map((a) => a.timeEnd) },
      { name: 'title', type: FieldType.string, values: annotations.map((a) => a.title) },
      { name: 'text', type: FieldType.string, values: annotations.map((a) => a.text) },
      { name: 'tags', type: FieldType.other, values: annotations.map((a) => a.tags) },
      { name: 'host', type: FieldType.string, values: annotations.map((a) => a.host ?? '') },
    ],
  });
}
