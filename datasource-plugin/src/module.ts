import { DataSourcePlugin } from '@grafana/data';
import { DataSource } from './datasource';
import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { PerfWatchOptions, PerfWatchQuery, PerfWatchSecureOptions } from './types';

export const plugin = new DataSourcePlugin<DataSource, PerfWatchQuery, PerfWatchOptions, PerfWatchSecureOptions>(
  DataSource
)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
