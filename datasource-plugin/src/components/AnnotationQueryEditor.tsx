import React from 'react';
import { QueryEditorProps } from '@grafana/data';
import { ComboboxOption, InlineField, MultiCombobox, Stack } from '@grafana/ui';
import type { DataSource } from '../datasource';
import { ANNOTATION_KINDS, ANNOTATIONS_QUERY_TYPE, AnnotationKind, PerfWatchOptions, PerfWatchQuery } from '../types';
import { HostPicker } from './HostPicker';

type Props = QueryEditorProps<DataSource, PerfWatchQuery, PerfWatchOptions>;

const kindOptions: Array<ComboboxOption<AnnotationKind>> = [
  { label: 'Retention runs', value: 'retention', description: 'when expired history was dropped' },
  { label: 'Gaps', value: 'gap', description: 'stretches without snapshots: collector or exporter outages' },
];

/** Which annotations: retention runs and/or gaps, and the hosts whose gaps to show. */
export function AnnotationQueryEditor({ query, onChange, datasource }: Props) {
  const q: PerfWatchQuery = { ...query, queryType: ANNOTATIONS_QUERY_TYPE };
  return (
    <Stack direction="column" gap={0.5}>
      <InlineField label="Show" labelWidth={14} htmlFor="perfwatch-annotation-kinds">
        <MultiCombobox
          id="perfwatch-annotation-kinds"
          width={48}
          options={kindOptions}
          value={q.kinds ?? ANNOTATION_KINDS}
          onChange={(v) => onChange({ ...q, kinds: v.map((o) => o.value) })}
        />
      </InlineField>
      <HostPicker datasource={datasource} hosts={q.hosts ?? []} onChange={(hosts) => onChange({ ...q, hosts })} />
    </Stack>
  );
}
