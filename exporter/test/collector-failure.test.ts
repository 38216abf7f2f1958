/**
 * One broken kernel file fails its collector only: success 0 for it, HTTP 200 and every other
 * collector's metrics for the rest.
 */
import { expect } from 'chai';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter, type Exporter } from '../src/app.js';
import { FIXTURES, parseExposition, quietLogger, scrape, testConfig } from './helpers.js';

describe('a collector that fails', () => {
  let dir: string;
  let exporter: Exporter;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'perfwatch-broken-'));
    cpSync(`${FIXTURES}small`, dir, { recursive: true });
    // a truncated line in the middle of meminfo
    writeFileSync(join(dir, 'proc/meminfo'), 'MemTotal:        2097152 kB\nMemFree:\nBuffers:           10000 kB\n');
    exporter = await startExporter(
      testConfig({ PERFWATCH_PROC_ROOT: join(dir, 'proc'), PERFWATCH_SYS_ROOT: join(dir, 'sys'), PERFWATCH_ROOTFS: join(dir, 'rootfs') }),
      quietLogger(),
    );
  });

  after(async () => {
    await exporter?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets success 0 for it, keeps every other collector, and answers 200', async () => {
    const r = await scrape(`${exporter.url}/metrics`);
    expect(r.status).to.equal(200);
    const m = parseExposition(r.body);
    expect(m.get('perfwatch_scrape_collector_success{collector="meminfo"}')).to.equal(0);
    for (const c of ['cpu', 'loadavg', 'vmstat', 'uptime', 'diskstats', 'netdev', 'netstat', 'sockstat', 'filesystem', 'pressure', 'filefd']) {
      expect(m.get(`perfwatch_scrape_collector_success{collector="${c}"}`), c).to.equal(1);
    }
    expect([...m.keys()].filter((k) => k.startsWith('perfwatch_memory_'))).to.deep.equal([]);
    expect(m.get('perfwatch_load_average_1m')).to.be.a('number');
    expect(m.has('process_cpu_seconds_total')).to.equal(true);
  });

  it('records the error, naming the file and line, in the snapshot', () => {
    const col = exporter.sampler.last!.col.meminfo!;
    expect(col.ok).to.equal(false);
    expect(col.err).to.equal(`${join(dir, 'proc/meminfo')}:2: ${col.err!.split(':2: ')[1]}`);
    expect(col.err).to.match(/meminfo:2: /);
  });

  it('a missing file is absent, not an error: no snmp means only netstat fields', async () => {
    rmSync(join(dir, 'proc/net/snmp'));
    const snap = await exporter.sampler.collectNow();
    expect(snap.col.netstat!.ok).to.equal(true);
    expect(Object.keys(snap.nstat!).some((k) => k.startsWith('Tcp_'))).to.equal(false);
    expect(Object.keys(snap.nstat!).some((k) => k.startsWith('TcpExt_'))).to.equal(true);
  });

  it('a collector whose file is missing succeeds with its metrics absent (never 0)', async () => {
    rmSync(join(dir, 'proc/loadavg'));
    const snap = await exporter.sampler.collectNow();
    expect(snap.col.loadavg!.ok).to.equal(true);
    expect(snap.load).to.equal(undefined);
    const m = parseExposition((await scrape(`${exporter.url}/metrics`)).body);
    expect([...m.keys()].filter((k) => k.startsWith('perfwatch_load_'))).to.deep.equal([]);
  });
});
