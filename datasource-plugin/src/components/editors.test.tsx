/**
 * The editors, rendered in jsdom, with their options loaded from the real api (test/globalSetup.js)
 * through the data source proxy.
 */
import React from 'react';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { DataSourceSettings } from '@grafana/data';
import { PerfWatchOptions, PerfWatchQuery, PerfWatchSecureOptions } from '../types';
import { testApi, wire } from '../testing/setup';
import { ConfigEditor } from './ConfigEditor';
import { hostOptions } from './HostPicker';
import { labelValueOptions } from './MatchersEditor';
import { metricOptions } from './MetricPicker';
import { QueryEditor } from './QueryEditor';

const api = testApi();

function query(q: Partial<PerfWatchQuery>): PerfWatchQuery {
  return { refId: 'A', metric: '', hosts: [], matchers: [], ...q };
}

describe('QueryEditor', () => {
  it("shows the chosen metric's type, unit and help from the catalog, and the raw switch for a counter", async () => {
    const { ds } = wire({ apiUrl: api.url, token: api.token });
    const onChange = jest.fn();
    const onRunQuery = jest.fn();
    render(
      <QueryEditor
        datasource={ds}
        query={query({ metric: 'perfwatch_cpu_seconds_total' })}
        onChange={onChange}
        onRunQuery={onRunQuery}
      />
    );
    expect(await screen.findByText(/^counter, seconds: Seconds each CPU spent in each mode/)).toBeInTheDocument();
    const raw = screen.getByLabelText('Raw counter');
    fireEvent.click(raw);
    expect(onChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ metric: 'perfwatch_cpu_seconds_total', rate: false })
    );
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('no raw switch for a gauge; a derived metric says so', async () => {
    const { ds } = wire({ apiUrl: api.url, token: api.token });
    render(
      <QueryEditor
        datasource={ds}
        query={query({ metric: 'perfwatch_cpu_utilisation_ratio' })}
        onChange={jest.fn()}
        onRunQuery={jest.fn()}
      />
    );
    expect(await screen.findByText(/^gauge \(derived\), ratio: Share of time each CPU was busy/)).toBeInTheDocument();
    expect(screen.queryByLabelText('Raw counter')).toBeNull();
  });

  it('a catalog that cannot be loaded shows the reason at the metric picker', async () => {
    const { ds } = wire({ apiUrl: api.url, token: 'pw_refused-token-00000000000000000000000000' });
    render(<QueryEditor datasource={ds} query={query({})} onChange={jest.fn()} onRunQuery={jest.fn()} />);
    expect(await screen.findByText(/refused this datasource's API token \(401\)/)).toBeInTheDocument();
  });
});

describe('editor options (what the pickers offer)', () => {
  it('metrics: every catalog entry with its description, then the dashboard variables', async () => {
    const { ds } = wire({
      apiUrl: api.url,
      token: api.token,
      variables: [{ name: 'metric', values: ['x'], current: 'x' }],
    });
    const options = metricOptions(await ds.getMetrics());
    const load = options.find((o) => o.value === 'perfwatch_load_average_1m');
    expect(load?.description).toBe('gauge, no unit: 1 minute load average.');
    expect(options[options.length - 1]).toEqual({
      label: '$metric',
      value: '$metric',
      description: 'dashboard variable',
    });
  });

  it('hosts: All, the variables, the hosts; filtered by what was typed', async () => {
    const { ds } = wire({
      apiUrl: api.url,
      token: api.token,
      variables: [{ name: 'host', values: api.hosts, current: 'alpha' }],
    });
    expect((await hostOptions(ds, '')).map((o) => o.value)).toEqual(['$__all', '$host', ...api.hosts]);
    expect((await hostOptions(ds, 'gam')).map((o) => o.value)).toEqual(['gamma']);
  });

  it('matcher values: the label values of the chosen hosts', async () => {
    const { ds } = wire({ apiUrl: api.url, token: api.token });
    expect(
      (await labelValueOptions(ds, 'perfwatch_cpu_seconds_total', 'host', ['beta', '$host'], '')).map((o) => o.value)
    ).toEqual(['beta']);
    const modes = (await labelValueOptions(ds, 'perfwatch_cpu_seconds_total', 'mode', [], '')).map((o) => o.value);
    expect(modes).toEqual(expect.arrayContaining(['idle', 'iowait', 'system', 'user']));
    expect((await labelValueOptions(ds, 'perfwatch_cpu_seconds_total', 'mode', [], 'io')).map((o) => o.value)).toEqual([
      'iowait',
    ]);
  });
});

describe('ConfigEditor', () => {
  const settings = (over: Partial<DataSourceSettings<PerfWatchOptions, PerfWatchSecureOptions>> = {}) =>
    ({
      id: 1,
      uid: 'perfwatch',
      orgId: 1,
      name: 'PerfWatch',
      type: 'perfwatch-history-datasource',
      typeName: 'PerfWatch',
      typeLogoUrl: '',
      access: 'proxy',
      url: '',
      user: '',
      basicAuth: false,
      basicAuthUser: '',
      isDefault: false,
      jsonData: {},
      secureJsonFields: {},
      readOnly: false,
      withCredentials: false,
      ...over,
    }) as DataSourceSettings<PerfWatchOptions, PerfWatchSecureOptions>;

  it('keeps the URL in jsonData (without a trailing slash) and the token in secureJsonData', () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={settings()} onOptionsChange={onOptionsChange} />);
    fireEvent.change(screen.getByPlaceholderText('http://perfwatch-api:8000'), {
      target: { value: ' http://api:8000/ ' },
    });
    expect(onOptionsChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ jsonData: { apiUrl: 'http://api:8000' } })
    );
    fireEvent.change(screen.getByPlaceholderText('pw_...'), { target: { value: 'pw_abc' } });
    expect(onOptionsChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ secureJsonData: { apiToken: 'pw_abc' } })
    );
  });

  it('a stored token is shown as configured and can be reset', async () => {
    const onOptionsChange = jest.fn();
    render(
      <ConfigEditor options={settings({ secureJsonFields: { apiToken: true } })} onOptionsChange={onOptionsChange} />
    );
    fireEvent.click(await screen.findByRole('button', { name: /reset/i }));
    await waitFor(() =>
      expect(onOptionsChange).toHaveBeenLastCalledWith(
        expect.objectContaining({ secureJsonFields: { apiToken: false }, secureJsonData: { apiToken: '' } })
      )
    );
  });
});
