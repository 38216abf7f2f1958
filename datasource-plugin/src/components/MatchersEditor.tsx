import React from 'react';
import { Button, Combobox, ComboboxOption, IconButton, InlineField, Stack } from '@grafana/ui';
import type { DataSource } from '../datasource';
import { LabelMatcher, MATCHER_OPS, MatcherOp } from '../types';
import { filterOptions } from './useAsyncOptions';
import { variableOptions } from './variableOptions';

interface Props {
  datasource: DataSource;
  metric: string;
  /** the metric's labels besides host. */
  labels: string[];
  hosts: string[];
  matchers: LabelMatcher[];
  onChange: (matchers: LabelMatcher[]) => void;
}

interface RowProps extends Omit<Props, 'matchers' | 'onChange'> {
  matcher: LabelMatcher;
  onChange: (m: LabelMatcher) => void;
  onRemove: () => void;
}

const opOptions: Array<ComboboxOption<MatcherOp>> = MATCHER_OPS.map((op) => ({ label: op, value: op }));

/** Values of the label (for the chosen hosts when they are plain names) and the dashboard's variables. */
export async function labelValueOptions(
  datasource: DataSource,
  metric: string,
  label: string,
  hosts: string[],
  typed: string
): Promise<Array<ComboboxOption<string>>> {
  const plainHosts = hosts.filter((h) => !h.startsWith('$'));
  const values = metric && label ? await datasource.getLabelValues(metric, label, plainHosts) : [];
  return filterOptions([...values.map((v) => ({ label: v, value: v })), ...variableOptions()], typed);
}

function MatcherRow({ datasource, metric, labels, hosts, matcher, onChange, onRemove }: RowProps) {
  // asked when the list opens, so the label-values route runs only for rows being edited
  const loadValues = (typed: string) => labelValueOptions(datasource, metric, matcher.label, hosts, typed);
  return (
    <Stack gap={0.5} alignItems="center">
      <Combobox
        aria-labelledby="perfwatch-matchers"
        width={20}
        options={['host', ...labels].map((l) => ({ label: l, value: l }))}
        value={matcher.label || null}
        createCustomValue
        placeholder="label"
        onChange={(v) => onChange({ ...matcher, label: v.value, value: '' })}
      />
      <Combobox
        width={8}
        options={opOptions}
        value={matcher.op}
        onChange={(v) => onChange({ ...matcher, op: v.value })}
      />
      <Combobox
        width={32}
        options={loadValues}
        value={matcher.value || null}
        createCustomValue
        placeholder={matcher.op.includes('~') ? 'regular expression' : 'value'}
        onChange={(v) => onChange({ ...matcher, value: v.value })}
      />
      <IconButton name="times" tooltip="Remove this matcher" onClick={onRemove} />
    </Stack>
  );
}

/** label op value rows; =~ and !~ take a regular expression matching the whole value. */
export function MatchersEditor({ matchers, onChange, ...row }: Props) {
  const set = (i: number, m: LabelMatcher) => onChange(matchers.map((x, j) => (j === i ? m : x)));
  return (
    <InlineField
      label="Matchers"
      labelWidth={14}
      htmlFor="perfwatch-matchers"
      tooltip="Keep the series whose label matches; =~ and !~ take a regular expression matching the whole value."
    >
      <Stack direction="column" gap={0.5}>
        {matchers.map((m, i) => (
          <MatcherRow
            key={i}
            {...row}
            matcher={m}
            onChange={(x) => set(i, x)}
            onRemove={() => onChange(matchers.filter((_, j) => j !== i))}
          />
        ))}
        <Button
          id="perfwatch-matchers"
          variant="secondary"
          size="sm"
          icon="plus"
          onClick={() => onChange([...matchers, { label: row.labels[0] ?? 'host', op: '=', value: '' }])}
        >
          Matcher
        </Button>
      </Stack>
    </InlineField>
  );
}
