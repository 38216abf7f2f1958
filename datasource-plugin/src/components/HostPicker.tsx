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

/** Hosts (multi), "All", and dashboard variables such as $host; empty means all hosts too. */
export function HostPicker({ datasource, hosts, onChange }: Props) {
  const load = async (typed: string) => {
    const known = (await datasource.getHosts()).map((h) => ({
      label: h.name,
      value: h.name,
      description: h.lastSeen ? `last seen ${h.lastSeen}` : undefined,
    }));
    return filterOptions([ALL, ...variableOptions(), ...known], typed);
  };
  return (
    <InlineField label="Hosts" labelWidth={14} tooltip="Hosts to show; none or All: every host.">
      <MultiCombobox
        id="perfwatch-hosts"
        width={48}
        options={load}
        value={hosts}
        createCustomValue
        placeholder="All hosts"
        onChange={(v) => onChange(v.map((o) => o.value))}
      />
    </InlineField>
  );
}
