/**
 * PERFWATCH_NET_NAMESPACE_PID: the network collectors read <procRoot>/<pid>/net/* (that process's
 * network namespace: the host's for pid 1 in a container with `pid: host`) instead of
 * <procRoot>/net, which is the exporter's own namespace. Everything else still reads procRoot.
 */
import { expect } from 'chai';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter, type Exporter } from '../src/app.js';
import { ConfigError } from '@perfwatch/store/env';
import { FIXTURES, parseExposition, quietLogger, scrape, testConfig } from './helpers.js';

describe('PERFWATCH_NET_NAMESPACE_PID', () => {
  let dir: string;
  const running: Exporter[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'perfwatch-netns-'));
    cpSync(`${FIXTURES}small`, dir, { recursive: true });
    // /proc/4242/net: another namespace, with an interface and counters of its own
    cpSync(join(dir, 'proc/net'), join(dir, 'proc/4242/net'), { recursive: true });
    const dev = readFileSync(join(dir, 'proc/net/dev'), 'utf8').replace(/^ {2}eth0:/m, 'hosteth0:');
    writeFileSync(join(dir, 'proc/4242/net/dev'), dev);
    writeFileSync(join(dir, 'proc/4242/net/sockstat'), readFileSync(join(dir, 'proc/net/sockstat'), 'utf8').replace(/^TCP: inuse \d+/m, 'TCP: inuse 777'));
  });

  after(async () => {
    for (const e of running) await e.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function metrics(env: Record<string, string>): Promise<Map<string, number>> {
    const e = await startExporter(testConfig({ PERFWATCH_PROC_ROOT: join(dir, 'proc'), PERFWATCH_SYS_ROOT: join(dir, 'sys'), PERFWATCH_ROOTFS: join(dir, 'rootfs'), ...env }), quietLogger());
    running.push(e);
    const r = await scrape(`${e.url}/metrics`);
    expect(r.status).to.equal(200);
    return parseExposition(r.body);
  }

  it('unset: /proc/net, the exporter’s own namespace', async () => {
    const m = await metrics({});
    expect(m.has('perfwatch_network_receive_bytes_total{device="eth0"}')).to.equal(true);
    expect(m.has('perfwatch_network_receive_bytes_total{device="hosteth0"}')).to.equal(false);
    expect(m.get('perfwatch_sockstat_tcp_inuse')).to.not.equal(777);
  });

  it('set: /proc/<pid>/net for netdev, netstat and sockstat; the rest still from procRoot', async () => {
    const m = await metrics({ PERFWATCH_NET_NAMESPACE_PID: '4242' });
    expect(m.has('perfwatch_network_receive_bytes_total{device="hosteth0"}')).to.equal(true);
    expect(m.has('perfwatch_network_receive_bytes_total{device="eth0"}')).to.equal(false);
    expect(m.get('perfwatch_sockstat_tcp_inuse')).to.equal(777);
    for (const c of ['netdev', 'netstat', 'sockstat', 'cpu', 'meminfo']) expect(m.get(`perfwatch_scrape_collector_success{collector="${c}"}`), c).to.equal(1);
    expect(m.get('perfwatch_load_average_1m')).to.be.a('number');
  });

  it('a process without that directory: the network metrics are absent, the scrape still works', async () => {
    const m = await metrics({ PERFWATCH_NET_NAMESPACE_PID: '999999' });
    expect([...m.keys()].some((k) => k.startsWith('perfwatch_network_'))).to.equal(false);
    expect(m.get('perfwatch_load_average_1m')).to.be.a('number');
  });

  it('refuses what is not a process id, naming the variable', () => {
    for (const bad of ['0', '-1', 'init', '1.5']) {
      expect(() => testConfig({ PERFWATCH_NET_NAMESPACE_PID: bad }), bad).to.throw(ConfigError, /PERFWATCH_NET_NAMESPACE_PID/);
    }
  });
});
