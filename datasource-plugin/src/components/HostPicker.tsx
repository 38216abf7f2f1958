import React from 'react';
import { ComboboxOption, InlineField, MultiCombobox } from '@grafana/ui';
import type { DataSource } from '../datasource';
import { filterOptions } from './useAsyncOptions';
import { variableOptions } from './variableOptions';

interface Props {
  datasource: DataSource;
  hosts: string[];
  onChange: (hosts: string[]) => void;
}

const ALL: ComboboxOption<string> = { label: 'All', value: '$__all', description: 'every host with history' };

/** The picker's options for what was typed: All, the dashboard's variables, the hosts with history. */
export async function hostOptions(datasource: DataSource, typed: string): Promise<Array<ComboboxOption<string>>> {
  const known = (await datasource.getHosts()).map((h) => ({
    label: h.name,
    value: h.name,
    description: h.lastSeen ? `last seen ${h.lastSeen}` : undefined,
  }));
  return filterOptions([ALL, ...variableOptions(), ...known], typed);
}

/** Hosts (multi), "All", and dashboard variables such as $host; empty means all hosts too. */
export function HostPicker({ datasource, hosts, onChange }: Props) {
  return (
    <InlineField label="Hosts" labelWidth={14} tooltip="Hosts to show; none or All: every host.">
      <MultiCombobox
        id="perfwatch-hosts"
        width={48}
        options={(typed) => hostOptions(datasource, typed)}
        value={hosts}
        createCustomValue
        placeholder="All hosts"
        onChange={(v) => onChange(v.map((o) => o.value))}
      />
    </InlineField>
  );
}
