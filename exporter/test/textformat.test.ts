import { parseTextFormat, type TextFamily } from '../src/textformat.js';
import { runTable, type Case } from './procfs/table.js';

const FILE = '/var/lib/node_exporter/backup.prom';

const cases: Case<TextFamily[]>[] = [
  {
    name: 'HELP, TYPE, labels with escapes, special values',
    input: '# HELP backup_age_seconds Age of the last backup.\n# TYPE backup_age_seconds gauge\n'
      + 'backup_age_seconds{job="db",path="C:\\\\dump \\"x\\"\\n"} 3600\nbackup_age_seconds{job="www"} NaN\n'
      + '# a comment\n\n# TYPE jobs_run_total counter\njobs_run_total 1.5e3\n',
    expect: [
      { name: 'backup_age_seconds', type: 'gauge', help: 'Age of the last backup.', samples: [
        { labels: [['job', 'db'], ['path', 'C:\\dump "x"\n']], value: 3600 },
        { labels: [['job', 'www']], value: NaN },
      ] },
      { name: 'jobs_run_total', type: 'counter', samples: [{ labels: [], value: 1500 }] },
    ],
  },
  {
    name: 'untyped is served as a gauge; a histogram as its _bucket, _sum and _count series',
    input: 'raid_ok 1\n# HELP req_seconds Latency.\n# TYPE req_seconds histogram\nreq_seconds_bucket{le="0.1"} 3\nreq_seconds_bucket{le="+Inf"} 5\nreq_seconds_sum 1.2\nreq_seconds_count 5\n',
    expect: [
      { name: 'raid_ok', type: 'gauge', samples: [{ labels: [], value: 1 }] },
      { name: 'req_seconds_bucket', type: 'gauge', help: 'Latency. (histogram req_seconds, _bucket)', samples: [{ labels: [['le', '0.1']], value: 3 }, { labels: [['le', '+Inf']], value: 5 }] },
      { name: 'req_seconds_sum', type: 'gauge', help: 'Latency. (histogram req_seconds, _sum)', samples: [{ labels: [], value: 1.2 }] },
      { name: 'req_seconds_count', type: 'gauge', help: 'Latency. (histogram req_seconds, _count)', samples: [{ labels: [], value: 5 }] },
    ],
  },
  { name: 'empty file: no families (a writer may have nothing to say)', input: '', expect: [] },
  { name: 'a timestamp is refused, as node_exporter refuses it', input: 'x 1 1700000000000\n', error: { line: 1, contains: 'timestamps' } },
  { name: 'no value', input: 'x{a="b"}\n', error: { line: 1, contains: 'no value' } },
  { name: 'bad value names it', input: 'x 12abc\n', error: { line: 1, contains: '"12abc"' } },
  { name: 'bad metric name', input: '1x 1\n', error: { line: 1, contains: 'expected a metric name' } },
  { name: 'unterminated label value', input: 'x{a="b} 1\n', error: { line: 1, contains: 'unterminated' } },
  { name: 'reserved label name', input: 'x{__name__="y"} 1\n', error: { line: 1, contains: 'reserved' } },
  { name: 'label given twice', input: 'x{a="1",a="2"} 1\n', error: { line: 1, contains: 'twice' } },
  { name: 'duplicate series', input: 'x{a="1"} 1\nx{a="1"} 2\n', error: { line: 2, contains: 'duplicate series' } },
  { name: 'unknown type', input: '# TYPE x gaugee\nx 1\n', error: { line: 1, contains: '"gaugee"' } },
  { name: 'TYPE after the samples', input: 'x 1\n# TYPE x gauge\n', error: { line: 2, contains: 'after its samples' } },
  { name: 'second HELP', input: '# HELP x a\n# HELP x b\nx 1\n', error: { line: 2, contains: 'second HELP' } },
  { name: 'negative counter', input: '# TYPE x_total counter\nx_total -1\n', error: { line: 1, contains: 'negative' } },
  { name: 'a file cut short (no final newline)', input: 'x 1\ny 2', error: { line: 2, contains: 'newline' } },
];

describe('textformat: Prometheus text format 0.0.4 for the textfile collector', () => {
  runTable(FILE, (t) => parseTextFormat(t, FILE), cases);
});
