import React from 'react';
import { Combobox, ComboboxOption, InlineField, Text } from '@grafana/ui';
import { MetricDescriptor } from '../types';
import { variableOptions } from './variableOptions';

interface Props {
  metrics?: MetricDescriptor[];
  loading: boolean;
  error?: string;
  metric: string;
  onChange: (metric: string) => void;
}

export function describeMetric(m: MetricDescriptor): string {
  const unit = m.unit || 'no unit';
  return `${m.type}${m.derived ? ' (derived)' : ''}, ${unit}: ${m.help}`;
}

/** The catalog's metrics (each with its type, unit and help) and the dashboard's variables. */
export function metricOptions(metrics: MetricDescriptor[] | undefined): Array<ComboboxOption<string>> {
  return [
    ...(metrics ?? []).map((m) => ({ label: m.name, value: m.name, description: describeMetric(m) })),
    ...variableOptions(),
  ];
}

/** The catalog with autocomplete (type to filter); each option shows its help, type and unit. */
export function MetricPicker({ metrics, loading, error, metric, onChange }: Props) {
  const options = metricOptions(metrics);
  const current = metrics?.find((m) => m.name === metric);
  return (
    <>
      <InlineField
        label="Metric"
        labelWidth={14}
        invalid={Boolean(error)}
        error={error}
        tooltip="A metric of the PerfWatch catalog (GET /api/v1/metrics)."
      >
        <Combobox
          id="perfwatch-metric"
          width={64}
          loading={loading}
          options={options}
          value={metric || null}
          createCustomValue
          placeholder="Choose a metric"
          onChange={(v) => onChange(v.value)}
        />
      </InlineField>
      {current && <Text color="secondary">{describeMetric(current)}</Text>}
    </>
  );
}
