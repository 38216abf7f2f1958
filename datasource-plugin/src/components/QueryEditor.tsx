import React from 'react';
import { QueryEditorProps } from '@grafana/data';
import { InlineField, InlineSwitch, Input, Stack } from '@grafana/ui';
import { DataSource } from '../datasource';
import { PerfWatchOptions, PerfWatchQuery } from '../types';
import { AggregationEditor } from './AggregationEditor';
import { HostPicker } from './HostPicker';
import { MatchersEditor } from './MatchersEditor';
import { MetricPicker } from './MetricPicker';
import { useAsync } from './useAsyncOptions';

type Props = QueryEditorProps<DataSource, PerfWatchQuery, PerfWatchOptions>;

export function QueryEditor({ query, onChange, onRunQuery, datasource }: Props) {
  const catalog = useAsync(() => datasource.getMetrics(), datasource);
  const metric = catalog.value?.find((m) => m.name === query.metric);
  const labels = metric?.labels ?? [];
  const update = (patch: Partial<PerfWatchQuery>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };

  return (
    <Stack direction="column" gap={0.5}>
      <HostPicker datasource={datasource} hosts={query.hosts ?? []} onChange={(hosts) => update({ hosts })} />
      <MetricPicker
        metrics={catalog.value}
        loading={catalog.loading}
        error={catalog.error}
        metric={query.metric ?? ''}
        onChange={(name) => update({ metric: name, matchers: [], aggregation: undefined, rate: undefined })}
      />
      <MatchersEditor
        datasource={datasource}
        metric={query.metric ?? ''}
        labels={labels}
        hosts={query.hosts ?? []}
        matchers={query.matchers ?? []}
        onChange={(matchers) => update({ matchers })}
      />
      <AggregationEditor
        labels={labels}
        aggregation={query.aggregation}
        onChange={(aggregation) => update({ aggregation })}
      />
      <Stack gap={1}>
        <InlineField
          label="Legend"
          labelWidth={14}
          tooltip="Series name with labels in double braces, e.g. {{host}} {{cpu}}."
        >
          <Input
            id="perfwatch-legend"
            width={32}
            placeholder="{{host}} {{cpu}}"
            value={query.legendFormat ?? ''}
            onChange={(e) => onChange({ ...query, legendFormat: e.currentTarget.value })}
            onBlur={onRunQuery}
          />
        </InlineField>
        {metric?.type === 'counter' && (
          <InlineField
            label="Raw counter"
            tooltip="Counters are shown as a per-second rate; switch on to see the counter's own value."
          >
            <InlineSwitch
              id="perfwatch-raw"
              value={query.rate === false}
              onChange={(e) => update({ rate: e.currentTarget.checked ? false : undefined })}
            />
          </InlineField>
        )}
      </Stack>
    </Stack>
  );
}
