/** The textfile collector: PERFWATCH_TEXTFILE_DIR/*.prom into the Snapshot, /metrics and history. */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metricInfo, snapshotSamples } from '@perfwatch/store';
import { textfile } from '../src/collectors/textfile.js';
import { renderSnapshotText } from '../src/metrics.js';
import { SnapshotPipeline } from '../src/snapshot.js';
import { promtoolCheck, quietLogger, testConfig } from './helpers.js';
import { randomBytes } from './procfs/table.js';

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'pw-textfile-'));
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(d, name), text);
    utimesSync(join(d, name), 1_700_000_000, 1_700_000_000);
  }
  return d;
}

async function collect(env: Record<string, string>) {
  const pipeline = new SnapshotPipeline(testConfig(env, 'small'), [textfile], quietLogger());
  const snap = await pipeline.collect(0);
  return { snap, text: await renderSnapshotText(snap) };
}

describe('textfile collector', () => {
  it('unset PERFWATCH_TEXTFILE_DIR: nothing, not even the error gauge', async () => {
    const { snap, text } = await collect({});
    expect(snap.tf).to.equal(undefined);
    expect(snap.col.textfile).to.include({ ok: true });
    expect(text).to.not.include('perfwatch_textfile_');
  });

  it('good files are served, merged across files; a bad, a clashing and a type-changing file are skipped and reported', async () => {
    const d = dir({
      'a_backup.prom': '# HELP backup_last_success_seconds Last good backup.\n# TYPE backup_last_success_seconds gauge\nbackup_last_success_seconds{job="db"} 1.7e9\n',
      'b_more.prom': 'backup_last_success_seconds{job="www",site="b"} 1.6e9\nraid_degraded 0\n',
      'c_bad.prom': 'raid_ok{ 1\n',
      'd_ours.prom': 'perfwatch_cpu_seconds_total{cpu="0",mode="user"} 1\n',
      'e_type.prom': '# TYPE backup_last_success_seconds counter\nbackup_last_success_seconds{job="x"} 1\n',
      'f_dup.prom': 'raid_degraded 1\n',
      'notes.txt': 'not a prom file\n',
    });
    try {
      const { snap, text } = await collect({ PERFWATCH_TEXTFILE_DIR: d });
      expect(snap.col.textfile).to.include({ ok: true });
      const tf = snap.tf!;
      expect(tf.err).to.equal(1);
      expect(Object.keys(tf.files)).to.deep.equal(['a_backup.prom', 'b_more.prom', 'c_bad.prom', 'd_ours.prom', 'e_type.prom', 'f_dup.prom'].map((f) => join(d, f)));
      expect(tf.files[join(d, 'a_backup.prom')]).to.deep.equal({ mt: 1_700_000_000 });
      expect(tf.files[join(d, 'c_bad.prom')]!.err).to.match(/c_bad\.prom:1: /);
      expect(tf.files[join(d, 'd_ours.prom')]!.err).to.include('clashes');
      expect(tf.files[join(d, 'e_type.prom')]!.err).to.include('is a counter here but a gauge');
      expect(tf.files[join(d, 'f_dup.prom')]!.err).to.include('already gave');
      expect(tf.fam.map((f) => f.n)).to.deep.equal(['backup_last_success_seconds', 'raid_degraded']);
      expect(tf.fam[0]).to.deep.equal({
        n: 'backup_last_success_seconds', t: 'gauge', h: 'Last good backup.', l: ['job', 'site'],
        s: [[['db', ''], 1.7e9], [['www', 'b'], 1.6e9]],
      });
      expect(text).to.include('perfwatch_textfile_scrape_error 1\n');
      expect(text).to.include(`perfwatch_textfile_mtime_seconds{file="${join(d, 'a_backup.prom')}"} 1700000000\n`);
      expect(text).to.include('# TYPE backup_last_success_seconds gauge\nbackup_last_success_seconds{job="db",site=""} 1700000000\nbackup_last_success_seconds{job="www",site="b"} 1600000000\n');
      expect(text).to.include(`# HELP raid_degraded Metric read from ${join(d, 'b_more.prom')}.\n`);
      expect(text).to.not.include('raid_ok');
      const check = promtoolCheck(text);
      if (check) expect(check.output).to.equal('');
      // history reads the same snapshot: the catalog yields the textfile samples, and a query by name knows them
      const samples = snapshotSamples(snap).filter((s) => s.metric.name === 'raid_degraded');
      expect(samples.map((s) => s.value)).to.deep.equal([0]);
      expect(metricInfo('raid_degraded')).to.include({ type: 'gauge' });
    } finally {
      rmSync(d, { recursive: true });
    }
  });

  it('all files good: scrape_error 0', async () => {
    const d = dir({ 'x.prom': 'x 1\n' });
    try {
      const { text } = await collect({ PERFWATCH_TEXTFILE_DIR: d });
      expect(text).to.include('perfwatch_textfile_scrape_error 0\n');
    } finally {
      rmSync(d, { recursive: true });
    }
  });

  it('a missing directory is reported, not a failed collector', async () => {
    const { snap, text } = await collect({ PERFWATCH_TEXTFILE_DIR: '/nonexistent/textfiles' });
    expect(snap.col.textfile).to.include({ ok: true });
    expect(snap.tf!.files['/nonexistent/textfiles']!.err).to.include('ENOENT');
    expect(text).to.include('perfwatch_textfile_scrape_error 1\n');
    expect(text).to.not.include('perfwatch_textfile_mtime_seconds');
  });

  // issue #20: the inputs no kernel writes, as a *.prom file beside a good one. The text format is
  // user input with its own rules (an empty file, a NaN value and a long label value are valid
  // there, as in node_exporter), so each case is either served or reported; none fails the collector.
  const GOOD = '# TYPE a_total counter\na_total 1\n';
  const corrupt: [name: string, write: (p: string) => void, expected: RegExp | 'valid'][] = [
    ['empty', (p) => writeFileSync(p, ''), 'valid'],
    ['random bytes', (p) => writeFileSync(p, randomBytes(4096, 7)), /x\.prom:\d+: /],
    ['NaN text', (p) => writeFileSync(p, 'NaN\n'), /x\.prom:1: no value for NaN/],
    ['a NaN value', (p) => writeFileSync(p, 'x NaN\n'), 'valid'],
    ['a 1 MB line', (p) => writeFileSync(p, `${'7'.repeat(1 << 20)}\n${GOOD}`), /x\.prom:1: expected a metric name/],
    ['a NUL byte', (p) => writeFileSync(p, 'x 1\n\0\n'), /x\.prom:2: /],
    ['last line cut short', (p) => writeFileSync(p, GOOD.slice(0, -3)), /x\.prom:2: the last line has no newline/],
    ['a directory', (p) => mkdirSync(p), /x\.prom: a directory, not a text file$/],
  ];
  for (const [name, write, expected] of corrupt) {
    it(`a *.prom file, ${name}: ${expected === 'valid' ? 'served (valid text format)' : 'reported with the file and line, the good file still served'}`, async () => {
      const d = dir({ 'good.prom': GOOD });
      try {
        write(join(d, 'x.prom'));
        const { snap, text } = await collect({ PERFWATCH_TEXTFILE_DIR: d });
        expect(snap.col.textfile).to.include({ ok: true });
        expect(text).to.include('a_total 1\n');
        const x = snap.tf!.files[join(d, 'x.prom')];
        expect(x, 'x.prom in the report').to.not.equal(undefined);
        if (expected === 'valid') {
          expect(x!.err).to.equal(undefined);
          expect(snap.tf!.err).to.equal(0);
        } else {
          expect(x!.err).to.match(expected);
          expect(snap.tf!.err).to.equal(1);
          expect(text).to.include('perfwatch_textfile_scrape_error 1\n');
        }
      } finally {
        rmSync(d, { recursive: true });
      }
    });
  }

  it('PERFWATCH_TEXTFILE_DIR must be absolute', () => {
    expect(() => testConfig({ PERFWATCH_TEXTFILE_DIR: 'relative/dir' })).to.throw('PERFWATCH_TEXTFILE_DIR');
  });
});
