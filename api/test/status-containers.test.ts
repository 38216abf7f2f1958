/**
 * GET /api/v1/status `containers` (#15): from a host's two newest snapshots on a real PostgreSQL,
 * the cgroup collector's count of groups and those summed into "other", and the biggest
 * consumers: leaf groups by CPU cores between the two snapshots, named by container, pod or unit.
 */
import { expect } from 'chai';
import { insertSnapshots, type CgroupEntry, type Snapshot } from '@perfwatch/store';
import { fixtureSnapshot, simulate } from '../../store/test/synth.js';
import { ADMIN, call, login, startTestApi, type TestApi } from './helpers.js';

interface Containers {
  cgroups: number;
  other: number;
  top: { cgroup: string; name: string; cpuCores: number | null; memoryBytes: number | null }[];
}

const groups = (cpu: [number, number, number, number]): Record<string, CgroupEntry> => ({
  '/system.slice': { unit: 'system.slice', cpuu: cpu[0] + cpu[1] + cpu[2], mem: 900 },
  '/system.slice/docker-aaa.scope': { ctr: 'web', unit: 'docker-aaa.scope', id: 'aaa', cpuu: cpu[0], mem: 500 },
  '/system.slice/nginx.service': { unit: 'nginx.service', cpuu: cpu[1], mem: 300 },
  '/kubepods/pod1/ccc': { pod: '11111111-2222-3333-4444-555555555555', qos: 'burstable', cpuu: cpu[2], mem: 100 },
  '/idle': { cpuu: cpu[3], mem: 7000 },
  other: { cpuu: 1, mem: 1 },
});

describe('GET /api/v1/status: containers', function () {
  this.timeout(60_000);
  let t: TestApi;
  let admin: string;
  before(async () => {
    t = await startTestApi();
    admin = (await login(t.url, ADMIN.username, ADMIN.password)).token;
  });
  after(() => t.close());

  it('counts the groups and names the biggest CPU consumers between the two newest snapshots', async () => {
    const now = Date.now();
    const [a, b] = simulate(fixtureSnapshot('small'), 'docker-host', now - 5_000, 2) as [Snapshot, Snapshot];
    a.cgroups = { v: 2, n: 9, o: 3, g: groups([100, 50, 10, 5]) };
    // 5 s later: web used 5 s (1 core), nginx 10 s (2 cores), the pod 0.5 s, idle nothing
    b.cgroups = { v: 2, n: 9, o: 3, g: groups([105, 60, 10.5, 5]) };
    const [only] = simulate(fixtureSnapshot('small'), 'one-snapshot', now, 1) as [Snapshot];
    only.cgroups = { v: 1, n: 5, o: 0, g: groups([1, 2, 3, 4]) };
    await insertSnapshots(t.db, [a, b, only]);

    const r = await call(t.url, 'GET', '/api/v1/status', { token: admin });
    expect(r.status, r.text).to.equal(200);
    const hosts = (r.body as { hosts: { name: string; containers: Containers | null }[] }).hosts;
    const c = hosts.find((h) => h.name === 'docker-host')!.containers!;
    expect(c.cgroups).to.equal(5);
    expect(c.other).to.equal(3);
    expect(c.top.map((x) => [x.name, x.cpuCores === null ? null : Number(x.cpuCores.toFixed(6)), x.memoryBytes])).to.deep.equal([
      ['nginx.service', 2, 300],
      ['web', 1, 500],
      ['11111111-2222-3333-4444-555555555555', 0.1, 100],
      ['idle', 0, 7000],
    ]);
    // one snapshot: no CPU between two, so by memory
    const one = hosts.find((h) => h.name === 'one-snapshot')!.containers!;
    expect(one.top.map((x) => [x.name, x.cpuCores])).to.deep.equal([['idle', null], ['web', null], ['nginx.service', null], ['11111111-2222-3333-4444-555555555555', null]]);
  });

  it('null for a host without the cgroup collector', async () => {
    const [s] = simulate(fixtureSnapshot('small'), 'no-cgroups', Date.now(), 1) as [Snapshot];
    await insertSnapshots(t.db, [s]);
    const r = await call(t.url, 'GET', '/api/v1/status', { token: admin });
    const h = (r.body as { hosts: { name: string; containers: unknown }[] }).hosts.find((x) => x.name === 'no-cgroups')!;
    expect(h.containers).to.equal(null);
  });
});
