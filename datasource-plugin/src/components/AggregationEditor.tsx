import React from 'react';
import { Combobox, ComboboxOption, InlineField, MultiCombobox, Stack } from '@grafana/ui';
import { Aggregation, AGGREGATION_OPS, AggregationOp } from '../types';

interface Props {
  /** the metric's labels besides host. */
  labels: string[];
  aggregation?: Aggregation;
  onChange: (aggregation: Aggregation | undefined) => void;
}

const NONE = 'none';
const opOptions: Array<ComboboxOption<string>> = [
  { label: 'none', value: NONE, description: 'one series per host and label set' },
  ...AGGREGATION_OPS.map((op) => ({ label: op, value: op })),
];

/** sum / avg / min / max across series, keeping the group-by labels. */
export function AggregationEditor({ labels, aggregation, onChange }: Props) {
  return (
    <InlineField
      label="Aggregate"
      labelWidth={14}
      htmlFor="perfwatch-aggregation"
      tooltip="Combine series: by the labels kept (none kept: one series in all)."
    >
      <Stack gap={0.5}>
        <Combobox
          id="perfwatch-aggregation"
          width={12}
          options={opOptions}
          value={aggregation?.op ?? NONE}
          onChange={(v) =>
            onChange(v.value === NONE ? undefined : { op: v.value as AggregationOp, by: aggregation?.by ?? ['host'] })
          }
        />
        {aggregation && (
          <MultiCombobox
            width={40}
            options={['host', ...labels].map((l) => ({ label: l, value: l }))}
            value={aggregation.by}
            createCustomValue
            placeholder="by (nothing: one series)"
            onChange={(v) => onChange({ ...aggregation, by: v.map((o) => o.value) })}
          />
        )}
      </Stack>
    </InlineField>
  );
}
