import React, { ChangeEvent } from 'react';
import { InlineField, Input, SecretInput, Stack, Text } from '@grafana/ui';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { PerfWatchOptions, PerfWatchSecureOptions } from '../types';

type Props = DataSourcePluginOptionsEditorProps<PerfWatchOptions, PerfWatchSecureOptions>;

/** API URL (jsonData) and API token (secureJsonData: write-only, sent by Grafana's proxy only). */
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields, secureJsonData } = options;

  const onUrlChange = (event: ChangeEvent<HTMLInputElement>) => {
    onOptionsChange({ ...options, jsonData: { ...jsonData, apiUrl: event.target.value.trim().replace(/\/+$/, '') } });
  };
  const onTokenChange = (event: ChangeEvent<HTMLInputElement>) => {
    onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, apiToken: event.target.value } });
  };
  const onTokenReset = () => {
    onOptionsChange({
      ...options,
      secureJsonFields: { ...secureJsonFields, apiToken: false },
      secureJsonData: { ...secureJsonData, apiToken: '' },
    });
  };

  return (
    <Stack direction="column" gap={1}>
      <Text color="secondary">
        Grafana&apos;s server calls the PerfWatch API and adds the token itself: the token never reaches browsers.
      </Text>
      <InlineField
        label="API URL"
        labelWidth={16}
        interactive
        tooltip="Where the PerfWatch API listens, as the Grafana server reaches it (port 8000 by default), without /api/v1."
      >
        <Input
          id="perfwatch-api-url"
          width={48}
          value={jsonData.apiUrl ?? ''}
          placeholder="http://perfwatch-api:8000"
          onChange={onUrlChange}
        />
      </InlineField>
      <InlineField
        label="API token"
        labelWidth={16}
        interactive
        tooltip="An API token (pw_...) created in the PerfWatch admin UI under Tokens; the viewer role is enough."
      >
        <SecretInput
          id="perfwatch-api-token"
          width={48}
          isConfigured={Boolean(secureJsonFields?.apiToken)}
          value={secureJsonData?.apiToken ?? ''}
          placeholder="pw_..."
          onReset={onTokenReset}
          onChange={onTokenChange}
        />
      </InlineField>
    </Stack>
  );
}
