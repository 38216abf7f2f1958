/**
 * A corrupted proc root (issue #20, part 2): each kernel file in turn emptied, filled with random
 * bytes, `NaN` text or a 1 MB line, cut short, or replaced by a directory. Every scrape answers 200;
 * the collector that reads the file reports perfwatch_scrape_collector_success 0 with its reason
 * (the file and line) in the snapshot, and every other collector stays 1. Where an empty file is
 * what the kernel writes (diskstats without disks, an empty mount table), the collector stays 1.
 */
import { expect } from 'chai';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter, type Exporter } from '../src/app.js';
import { corruptions, expectOnlyCollectorFails, successes } from './corrupt.js';
import { FIXTURES, quietLogger, scrape, testConfig } from './helpers.js';

/** kernel file (under the proc root) -> the collector that reads it */
const FILES: [file: string, collector: string][] = [
  ['stat', 'cpu'],
  ['meminfo', 'meminfo'],
  ['loadavg', 'loadavg'],
  ['vmstat', 'vmstat'],
  ['uptime', 'uptime'],
  ['diskstats', 'diskstats'],
  ['net/dev', 'netdev'],
  ['net/netstat', 'netstat'],
  ['net/snmp', 'netstat'],
  ['net/sockstat', 'sockstat'],
  ['self/mounts', 'filesystem'],
  ['pressure/cpu', 'pressure'],
  ['pressure/memory', 'pressure'],
  ['pressure/io', 'pressure'],
  ['sys/fs/file-nr', 'filefd'],
  ['net/arp', 'arp'],
  ['net/udp', 'udp_queues'],
  ['net/udp6', 'udp_queues'],
  ['net/softnet_stat', 'softnet'],
  ['schedstat', 'schedstat'],
];

/** Where the kernel does write the file empty (the parsers' headers say so). */
const EMPTY_OK = new Set(['diskstats', 'self/mounts']);

const CORRUPTIONS = corruptions(7);

describe('a corrupted proc root', function () {
  this.timeout(120_000);
  let dir: string;
  let exporter: Exporter;
  let healthy: Map<string, number>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'perfwatch-corrupt-'));
    cpSync(`${FIXTURES}small`, dir, { recursive: true });
    // the small fixture has no PSI; the large one's files stand in
    cpSync(`${FIXTURES}large/proc/pressure`, join(dir, 'proc/pressure'), { recursive: true });
    exporter = await startExporter(
      testConfig({ PERFWATCH_PROC_ROOT: join(dir, 'proc'), PERFWATCH_SYS_ROOT: join(dir, 'sys'), PERFWATCH_ROOTFS: join(dir, 'rootfs') }),
      quietLogger(),
    );
    const r = await scrape(`${exporter.url}/metrics`);
    expect(r.status).to.equal(200);
    healthy = successes(r.body);
    // Every collector this test breaks works on the intact tree, or the test would prove nothing.
    for (const [, c] of FILES) expect(healthy.get(c), `${c} on the intact tree`).to.equal(1);
  });

  after(async () => {
    await exporter?.close();
    rmSync(dir, { recursive: true, force: true });
  });


  for (const [file, collector] of FILES) {
    for (const corruption of CORRUPTIONS) {
      const legit = corruption.name === 'empty' && EMPTY_OK.has(file);
      it(`${file}, ${corruption.name}: 200, ${legit ? `${collector} still 1 (legitimately empty)` : `${collector} 0 with the file and line, the others 1`}`, async () => {
        await expectOnlyCollectorFails(exporter, healthy, join(dir, 'proc', file), collector, corruption, legit);
      });
    }
  }

  it('the intact tree again: every collector 1', async () => {
    const r = await scrape(`${exporter.url}/metrics`);
    expect(r.status).to.equal(200);
    expect(successes(r.body)).to.deep.equal(healthy);
  });
});
