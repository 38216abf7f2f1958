/**
 * node_exporter's hardware and kernel collectors over the fixture machines: present where the
 * kernel has the files (large: a two-socket server), absent, never zero, where it has not (small:
 * a KVM guest without hwmon, cpufreq or powercap and an empty thermal class), each on and off by
 * PERFWATCH_COLLECTORS. golden.test.ts pins the whole output.
 */
import { expect } from 'chai';
import { COLLECTORS, selectCollectors } from '../src/collectors/registry.js';
import { renderSnapshotText } from '../src/metrics.js';
import { SnapshotPipeline } from '../src/snapshot.js';
import { quietLogger, testConfig } from './helpers.js';

const HOST = ['hwmon', 'thermal', 'cpufreq', 'rapl', 'edac', 'nvme', 'dmi', 'powersupplyclass', 'softnet', 'schedstat', 'conntrack', 'entropy', 'time', 'netclass', 'bonding', 'udp_queues', 'arp', 'mdadm', 'nfs', 'nfsd', 'os', 'uname', 'textfile'];

async function collect(fixture: string | undefined, names = HOST) {
  const pipeline = new SnapshotPipeline(testConfig({}, fixture), COLLECTORS.filter((c) => names.includes(c.name)), quietLogger());
  const snap = await pipeline.collect(0);
  await pipeline.close();
  return { snap, text: await renderSnapshotText(snap) };
}

describe('hardware and kernel collectors (node_exporter defaults)', () => {
  it('all are registered, default-on, and selectable by name', () => {
    for (const n of HOST) expect(COLLECTORS.find((c) => c.name === n), n).to.include({ defaultEnabled: true });
    expect(selectCollectors(['hwmon', 'arp']).map((c) => c.name)).to.deep.equal(['hwmon', 'arp']);
  });

  it('small (KVM guest): no hwmon, thermal zones, cpufreq or RAPL means no such sections or series, and every collector succeeds', async () => {
    const { snap, text } = await collect('small');
    for (const n of HOST) expect(snap.col[n], n).to.include({ ok: true });
    // nor EDAC, NVMe, power supplies (an empty class), bonds or md arrays (mdstat lists none)
    for (const k of ['hwmon', 'thermal', 'cpufreq', 'rapl', 'edac', 'nvme', 'psu', 'bond', 'md', 'nfs', 'nfsd'] as const) expect(snap[k], k).to.equal(undefined);
    for (const p of ['perfwatch_hwmon_', 'perfwatch_thermal_', 'perfwatch_cpufreq_', 'perfwatch_rapl_', 'perfwatch_edac_', 'perfwatch_nvme_', 'perfwatch_power_supply_', 'perfwatch_bonding_', 'perfwatch_md_']) expect(text).to.not.include(p);
    expect(snap.dmi).to.include({ sys_vendor: 'QEMU' });
    // 5.4: softnet_stat has no backlog column, so the gauge is absent rather than 0
    expect(snap.softnet!['0']).to.have.length(6);
    expect(text).to.not.include('perfwatch_softnet_backlog_len');
    // no kernel/arch before 6.1 and the fixture is not this kernel: the machine label is empty
    expect(snap.uname).to.include({ rel: '5.4.0-187-generic', mach: '' });
  });

  it('large (two-socket server): every section present, in base units', async () => {
    const { snap } = await collect('large');
    for (const n of HOST) expect(snap.col[n], n).to.include({ ok: true });
    expect(Object.keys(snap.hwmon!)).to.have.length(7);
    expect(snap.hwmon!.platform_coretemp_0!.s.temp1).to.include({ l: 'Package id 0', max: 86, crit: 96 });
    expect(Object.keys(snap.cpufreq!)).to.have.length(64);
    expect(snap.cpufreq!['0']).to.include({ min: 1e9, max: 3.9e9, gov: 'schedutil' });
    expect(snap.rapl!['intel-rapl:0']).to.include({ n: 'package-0', max: 262143.32885 });
    expect(Object.keys(snap.softnet!)).to.have.length(64);
    expect(snap.softnet!['63']).to.have.length(7);
    expect(Object.keys(snap.sched!)).to.have.length(64);
    expect(snap.ct).to.include({ max: 262144 });
    expect(snap.entropy).to.deep.equal({ avail: 32, pool: 32 }); // bytes: 256 bits
    expect(snap.clock).to.deep.equal({ cur: 'tsc', avail: ['tsc', 'hpet', 'acpi_pm'] });
    expect(Object.keys(snap.ncls!)).to.deep.equal(['bond0', 'docker0', 'eno1', 'eno2', 'ib0']);
    expect(snap.arp).to.deep.equal({ bond0: 6, docker0: 1 });
    expect(snap.os).to.include({ ID: 'ubuntu', VERSION_ID: '24.04' });
    expect(snap.uname).to.include({ mach: 'x86_64', node: 'db-07' });
    expect(Object.keys(snap.edac!)).to.deep.equal(['0', '1']);
    expect(snap.nvme!.nvme1).to.include({ fw: 'GDC5602Q', state: 'live' });
    expect(snap.dmi).to.include({ board_name: 'X12DPi-NT6' });
    expect(snap.bond).to.deep.equal({ bond0: [2, 2] });
    expect(snap.nfs!.proc4).to.have.length(69);
    expect(Object.keys(snap.nfsd!)).to.deep.equal(['rc', 'fh', 'io', 'th', 'net', 'rpc', 'proc3', 'proc4', 'proc4ops']);
    expect(snap.md!.md0).to.deep.equal({ st: 'active', lvl: 'raid1', dk: [2, 0, 0], req: 2, size: 1875242304 * 1024 });
  });

  it('this machine: every collector succeeds, whatever the kernel has', async () => {
    const { snap } = await collect(undefined);
    for (const n of HOST) expect(snap.col[n], `${n}: ${snap.col[n]?.err}`).to.include({ ok: true });
  });
});

describe('btrfs and zfs over fake trees: the catalog serves them', () => {
  it('renders btrfs and zfs families in base units, zfs kstats as gauges', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const root = mkdtempSync(join(tmpdir(), 'pw-host-'));
    const put = (p: string, t: string) => {
      mkdirSync(join(root, p, '..'), { recursive: true });
      writeFileSync(join(root, p), t);
    };
    const uuid = '3f4c8e2a-1b2c-4d5e-8f90-a1b2c3d4e5f6';
    put(`sys/fs/btrfs/${uuid}/label`, '\n');
    put(`sys/fs/btrfs/${uuid}/allocation/data/bytes_used`, '4096\n');
    put('proc/spl/kstat/zfs/arcstats', '13 1 0x01 2 1 1 1\nname type data\nhits 4 100\n');
    put('proc/spl/kstat/zfs/dmu_tx', '13 1 0x01 2 1 1 1\nname type data\ndmu_tx_assigned 4 7\n');
    put('proc/spl/kstat/zfs/tank/state', 'DEGRADED\n');
    const pipeline = new SnapshotPipeline(testConfig({ PERFWATCH_PROC_ROOT: join(root, 'proc'), PERFWATCH_SYS_ROOT: join(root, 'sys') }), COLLECTORS.filter((c) => c.name === 'btrfs' || c.name === 'zfs'), quietLogger());
    const text = await renderSnapshotText(await pipeline.collect(0));
    expect(text).to.include(`perfwatch_btrfs_info{uuid="${uuid}",label=""} 1\n`);
    expect(text).to.include(`perfwatch_btrfs_used_bytes{uuid="${uuid}",block_group_type="data"} 4096\n`);
    expect(text).to.not.include('perfwatch_btrfs_size_bytes');
    expect(text).to.include('perfwatch_zfs_pool_state{pool="tank",state="degraded"} 1\n');
    expect(text).to.include('# TYPE perfwatch_zfs_arc_hits gauge\nperfwatch_zfs_arc_hits 100\n');
    expect(text).to.include('perfwatch_zfs_dmu_tx_assigned 7\n');
  });
});
