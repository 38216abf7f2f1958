/**
 * The host sections the fixture machines do not have (textfile, power supplies, btrfs, zfs, an md
 * array mid-recovery): the stored shape yields the same samples as the snapshot (so history
 * holds them), and a history query knows their names.
 */
import { expect } from 'chai';
import { decodeValues, encodeSnapshot, forEachSample, metricInfo, parseShape, Slot, snapshotSamples, type Snapshot } from '../src/index.js';

const snap = {
  v: 1, host: 'h', ts: Date.UTC(2031, 0, 1), iv: 5, col: {},
  psu: { BAT0: { type: 'Battery', info: { status: 'Charging' }, v: { capacity: 0.87, energy_now: 162000 } } },
  btrfs: { 'a-b': { label: 'pool', rsv: 1024, g: { data: [4096, 2048, null, 8192, null] }, dev: { sdb: 1e12 } } },
  zfs: { k: { arcstats: { hits: 100, size: 2e9 } }, pools: { tank: 'ONLINE' } },
  md: { md1: { st: 'active', lvl: 'raid5', dk: [2, 1, 1], req: 3, size: 4e12, act: 'recovery', done: 1e11 } },
  tf: {
    files: { '/t/a.prom': { mt: 1700000000 }, '/t/b.prom': { mt: 1700000001, err: 'bad' } },
    fam: [{ n: 'backup_age_seconds', t: 'gauge', h: 'Age.', l: ['job', 'site'], s: [[['db', ''], 3600], [['www', 'b'], 60]] }],
    err: 1,
  },
} as unknown as Snapshot;

describe('catalog: host sections without a fixture machine', () => {
  it('the stored shape yields every sample of the snapshot, values from their slots', () => {
    const enc = encodeSnapshot(snap);
    const vals = decodeValues(enc.vals, enc.frags.length - 1, snap.ts);
    const fromShape: { name: string; labels: object; value: number }[] = [];
    forEachSample(parseShape(enc.frags), (m, labels, v) => fromShape.push({ name: m.name, labels, value: v instanceof Slot ? vals[v.index]! : v }));
    const direct = snapshotSamples(snap).map((x) => ({ name: x.metric.name, labels: x.labels, value: x.value }));
    expect(fromShape).to.deep.equal(direct);
    const line = (x: (typeof direct)[number]) => `${x.name}${JSON.stringify(x.labels)} ${x.value}`;
    expect(direct.map(line)).to.include.members([
      'perfwatch_power_supply_capacity_ratio{"power_supply":"BAT0"} 0.87',
      'perfwatch_btrfs_used_bytes{"uuid":"a-b","block_group_type":"data"} 2048',
      'perfwatch_zfs_pool_state{"pool":"tank","state":"online"} 1',
      'perfwatch_zfs_arc_hits{} 100',
      'perfwatch_md_state{"device":"md1","state":"recovering"} 1',
      'perfwatch_md_synced_bytes{"device":"md1"} 100000000000',
      'perfwatch_textfile_scrape_error{} 1',
      'perfwatch_textfile_mtime_seconds{"file":"/t/b.prom"} 1700000001',
      'backup_age_seconds{"job":"db","site":""} 3600',
    ]);
    // the missing reserved_bytes of data is absent, not 0
    expect(direct.filter((x) => x.name === 'perfwatch_btrfs_reserved_bytes')).to.deep.equal([]);
  });

  it('metricInfo knows textfile families once seen, and any perfwatch_zfs_ name', () => {
    snapshotSamples(snap);
    expect(metricInfo('backup_age_seconds')).to.include({ type: 'gauge', help: 'Age.' });
    expect(metricInfo('perfwatch_zfs_arc_misses')).to.include({ type: 'gauge' });
    expect(metricInfo('perfwatch_zfs_pool_state')).to.deep.include({ labels: ['pool', 'state'] });
    expect(metricInfo('never_seen_family')).to.equal(undefined);
  });
});
