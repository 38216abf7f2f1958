/**
 * A corrupted proc and sys root for the parsers added after the first pass of issue #20 (part 2):
 * nfs/nfsd, mdstat, nf_conntrack stat and count, zfs kstats, xfs stats, entropy, and the sysfs
 * attributes of the hwmon, thermal, cpufreq, rapl, netclass, nvme, edac and bonding collectors.
 * Each file in turn is emptied, filled with random bytes, `NaN` text or a 1 MB line, cut short, or
 * replaced by a directory. Every scrape answers 200; the collector that reads the file reports
 * perfwatch_scrape_collector_success 0 with its reason (the file, and the line for content), and
 * every other collector stays as it was. collector-corrupt-proc.test.ts does the same for the
 * original /proc files over the small fixture; this one runs over the large one, which has the
 * hardware.
 *
 * Only files a collector reads on every collection are corrupted here: what the sysfs collectors
 * discover once a minute (collectors/plan.ts: labels, limits, DMI, os-release) would show the
 * corruption only at the next discovery, and goes through the same parsers.
 */
import { expect } from 'chai';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter, type Exporter } from '../src/app.js';
import { corruptions, expectOnlyCollectorFails, successes, type CorruptionName } from './corrupt.js';
import { FIXTURES, quietLogger, scrape, testConfig } from './helpers.js';

interface Target {
  /** under the copied fixture root (proc/..., sys/...) */
  file: string;
  collector: string;
  /** corruptions that give what the kernel may write there, so the collector stays 1 (say why). */
  legit?: CorruptionName[];
}

const TARGETS: Target[] = [
  { file: 'proc/mdstat', collector: 'mdadm' },
  { file: 'proc/net/rpc/nfs', collector: 'nfs' },
  { file: 'proc/net/rpc/nfsd', collector: 'nfsd' },
  { file: 'proc/net/stat/nf_conntrack', collector: 'conntrack' },
  { file: 'proc/sys/net/netfilter/nf_conntrack_count', collector: 'conntrack' },
  { file: 'proc/sys/kernel/random/entropy_avail', collector: 'entropy' },
  { file: 'proc/spl/kstat/zfs/arcstats', collector: 'zfs' },
  // the pool's state is a word the collector passes on as a label: "NaN" is text like ONLINE
  { file: 'proc/spl/kstat/zfs/tank/state', collector: 'zfs', legit: ['NaN text'] },
  { file: 'sys/fs/xfs/md0/stats/stats', collector: 'xfs' },
  { file: 'sys/class/hwmon/hwmon0/temp1_input', collector: 'hwmon' },
  { file: 'sys/class/thermal/thermal_zone0/temp', collector: 'thermal' },
  { file: 'sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq', collector: 'cpufreq' },
  { file: 'sys/class/powercap/intel-rapl:0/energy_uj', collector: 'rapl' },
  { file: 'sys/class/net/eno1/mtu', collector: 'netclass' },
  { file: 'sys/devices/system/edac/mc/mc0/ce_count', collector: 'edac' },
  // a text attribute: "NaN" is a model name like any other
  { file: 'sys/class/nvme/nvme0/model', collector: 'nvme', legit: ['NaN text'] },
  // the list is empty (0 bytes) when there is no bond, and "NaN" could name one (with no slaves)
  { file: 'sys/class/net/bonding_masters', collector: 'bonding', legit: ['empty', 'NaN text'] },
];

/** Files the large fixture lacks (no NFS, conntrack statistics or ZFS there), as the kernel writes them. */
const EXTRA: Record<string, string> = {
  'proc/net/rpc/nfs': 'net 0 0 0 0\nrpc 1287 0 1287\nproc3 22 0 12 0 0 30 0 0 0 0 0 0 0 0 0 0 0 0 4 2 2 0 0\nproc4 2 0 0\n',
  'proc/net/rpc/nfsd': 'rc 0 6 18622\nfh 0 0 0 0 0\nio 157286400 0\nth 8 0 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000\nnet 18628 0 18628 6\nrpc 18628 0 0 0 0\nproc3 22 2 112 0 2719 111 0 0 0 0 0 0 0 0 0 0 0 27 216 0 2 1 0\nproc4 2 2 10853\nproc4ops 5 0 0 0 1098 2\n',
  'proc/net/stat/nf_conntrack':
    'entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n'
    + `${Array(17).fill('00000021').join(' ')}\n${Array(17).fill('00000003').join(' ')}\n`,
  'proc/spl/kstat/zfs/arcstats': '13 1 0x01 123 33264 6049454212 2117958765838\nname                            type data\nhits                            4    12345\nsize                            4    2147483648\n',
  'proc/spl/kstat/zfs/tank/state': 'ONLINE\n',
};

const CORRUPTIONS = corruptions(7);

describe('a corrupted proc and sys root (the newer parsers)', function () {
  this.timeout(300_000);
  let dir: string;
  let exporter: Exporter;
  let healthy: Map<string, number>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'perfwatch-corrupt-sys-'));
    cpSync(`${FIXTURES}large`, dir, { recursive: true, verbatimSymlinks: true });
    for (const [p, text] of Object.entries(EXTRA)) {
      mkdirSync(join(dir, p, '..'), { recursive: true });
      writeFileSync(join(dir, p), text);
    }
    exporter = await startExporter(
      testConfig({ PERFWATCH_PROC_ROOT: join(dir, 'proc'), PERFWATCH_SYS_ROOT: join(dir, 'sys'), PERFWATCH_ROOTFS: join(dir, 'rootfs') }),
      quietLogger(),
    );
    const r = await scrape(`${exporter.url}/metrics`);
    expect(r.status).to.equal(200);
    healthy = successes(r.body);
    // Every collector this test breaks works on the intact tree, or the test would prove nothing.
    for (const t of TARGETS) expect(healthy.get(t.collector), `${t.collector} on the intact tree`).to.equal(1);
  });

  after(async () => {
    await exporter?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });


  for (const { file, collector, legit = [] } of TARGETS) {
    for (const corruption of CORRUPTIONS) {
      const ok = legit.includes(corruption.name);
      it(`${file}, ${corruption.name}: 200, ${ok ? `${collector} still 1 (what the kernel may write)` : `${collector} 0 with the file, the others as before`}`, async () => {
        await expectOnlyCollectorFails(exporter, healthy, join(dir, file), collector, corruption, ok);
      });
    }
  }

  it('the intact tree again: every collector as before', async () => {
    const r = await scrape(`${exporter.url}/metrics`);
    expect(r.status).to.equal(200);
    expect(successes(r.body)).to.deep.equal(healthy);
  });
});
