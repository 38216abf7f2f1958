/**
 * The cgroup collector over the fixture trees of generate-cgroups.mjs (cgroup v2 on a systemd
 * host, Docker with the systemd driver, Kubernetes with kubelet's systemd driver, and the v1
 * hybrid layout with Docker's and kubelet's cgroupfs driver): the perfwatch_container_* part of
 * /metrics diffed against a golden file per tree and the Snapshot they come from (snapshot.golden.json), names, the
 * cardinality guards, and malformed files that fail only their own group.
 */
import { expect } from 'chai';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Snapshot } from '@perfwatch/store';
import { cgroup, selectCgroups, sumCgroups } from '../src/collectors/cgroup.js';
import { walkCgroups, walkCgroupsFs } from '../src/cgroup/discover.js';
import { periodOf } from '../src/cgroup/read.js';
import { renderSnapshotText } from '../src/metrics.js';
import { SnapshotPipeline } from '../src/snapshot.js';
import { FIXTURES, golden, promtoolCheck, quietLogger, testConfig } from './helpers.js';

async function collect(layout: string, env: Record<string, string> = {}): Promise<Snapshot> {
  const config = testConfig(env, `cgroups/${layout}`);
  return new SnapshotPipeline(config, [cgroup], quietLogger()).collect(0);
}

function containerLines(text: string): string {
  return text.split('\n').filter((l) => /^(# (HELP|TYPE) )?perfwatch_container_/.test(l)).join('\n') + '\n';
}

const WEB = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';

describe('cgroup collector over the fixture trees', () => {
  for (const layout of ['v2', 'docker', 'k8s', 'v1']) {
    it(`${layout}: matches cgroups/${layout}/metrics.golden.txt and passes promtool`, async () => {
      const snap = await collect(layout);
      expect(snap.col.cgroup).to.include({ ok: true });
      const text = renderSnapshotText(snap);
      golden(`${FIXTURES}cgroups/${layout}/metrics.golden.txt`, containerLines(text));
      // the object the database stores (store/test/catalog-cgroup.test.ts walks it as a stored shape)
      const stored = JSON.parse(JSON.stringify(snap)) as Snapshot;
      stored.ts = 0;
      for (const c of Object.values(stored.col)) c.s = 0;
      // error messages name files under the checkout: relative to the fixtures, so any checkout matches
      golden(`${FIXTURES}cgroups/${layout}/snapshot.golden.json`, JSON.stringify(stored, null, 1).replaceAll(FIXTURES, '<fixtures>/') + '\n');
      const check = promtoolCheck(text);
      if (check) expect(check.output).to.equal('');
    });
  }

  it('v2: systemd units named, units converted, limits absent where "max", mount units excluded', async () => {
    const c = (await collect('v2')).cgroups!;
    expect(c.v).to.equal(2);
    expect(Object.keys(c.g)).to.not.include('/system.slice/-.mount');
    const nginx = c.g['/system.slice/nginx.service']!;
    expect(nginx.unit).to.equal('nginx.service');
    // usage_usec 111000000 (k=2), user 70%
    expect(nginx.cpuu).to.equal(111);
    expect(nginx.cpu).to.deep.equal([77.7, 33.3]);
    expect(nginx.thr).to.deep.equal([3000, 51, 0.75]);
    expect(nginx.lim).to.equal(512 * 1024 * 1024);
    expect(nginx.oom).to.equal(3);
    expect(nginx.oomk).to.equal(2);
    expect(nginx.pidsl).to.equal(4915);
    // no I/O yet: an empty io.stat
    expect(nginx.io).to.deep.equal({});
    expect(nginx.psi!.cpu).to.deep.equal({ some: 0.3, full: 0.1 });
    const sshd = c.g['/system.slice/sshd.service']!;
    expect(sshd.lim).to.equal(undefined);
    expect(sshd.thr).to.equal(undefined);
    expect(sshd.io).to.have.keys('sda', 'nvme0n1');
    // controllers not enabled: cpu.stat only
    expect(c.g['/system.slice/nginx.service/workers']).to.deep.equal({ cpu: [0.003, 0.002], cpuu: 0.005 });
  });

  it('v2: a malformed memory.stat fails only that file of its group', async () => {
    const snap = await collect('v2');
    expect(snap.col.cgroup).to.include({ ok: true });
    const broken = snap.cgroups!.g['/system.slice/broken.service']!;
    expect(broken.err).to.match(/broken\.service\/memory\.stat:1: expected "key value"/);
    expect(broken.ms).to.deep.equal({ swap: 5 * 4096 });
    expect(broken.mem).to.be.a('number');
    expect(broken.cpu).to.have.length(2);
    expect(snap.cgroups!.g['/system.slice/sshd.service']!.err).to.equal(undefined);
  });

  it('docker: name and image from config.v2.json; no config or a broken one leaves the id only', async () => {
    const c = (await collect('docker')).cgroups!;
    const web = c.g[`/system.slice/docker-${WEB}.scope`]!;
    expect(web).to.include({ ctr: 'web', img: 'nginx:1.25', id: WEB, unit: `docker-${WEB}.scope` });
    const named = Object.values(c.g).filter((e) => e.ctr !== undefined).map((e) => e.ctr);
    expect(named.sort()).to.deep.equal(['db', 'web']);
    const anon = Object.entries(c.g).find(([p]) => p.includes('deadbeef'))![1];
    expect(anon.ctr).to.equal(undefined);
    expect(anon.id).to.match(/^deadbeef/);
    const broken = Object.entries(c.g).find(([p]) => p.includes('cafebabe'))![1];
    expect(broken.ctr).to.equal(undefined);
    expect(broken.err).to.equal(undefined);
  });

  it('k8s: pod uid (dashes restored) and QoS class of the pods and their containers', async () => {
    const c = (await collect('k8s')).cgroups!;
    const pods = Object.entries(c.g).filter(([, e]) => e.pod !== undefined).map(([p, e]) => [p.split('/').pop(), e.pod, e.qos]);
    expect(pods).to.deep.include.members([
      ['kubepods-pod9a8b7c6d_1234_4f5e_8a9b_0c1d2e3f4a5b.slice', '9a8b7c6d-1234-4f5e-8a9b-0c1d2e3f4a5b', 'guaranteed'],
      [`cri-containerd-${'1'.repeat(64)}.scope`, '9a8b7c6d-1234-4f5e-8a9b-0c1d2e3f4a5b', 'guaranteed'],
      [`cri-containerd-${'2'.repeat(64)}.scope`, '5e4d3c2b-aaaa-4bbb-8ccc-dddddddddddd', 'burstable'],
      [`cri-containerd-${'3'.repeat(64)}.scope`, 'abcdef01-2345-4678-9abc-def012345678', 'besteffort'],
    ]);
    expect(pods).to.have.length(6);
  });

  it('v1: cpu,cpuacct walked once; ticks and ns in seconds; "no limit" absent; docker and pods named', async () => {
    const snap = await collect('v1');
    const c = snap.cgroups!;
    expect(c.v).to.equal(1);
    const web = c.g[`/docker/${WEB}`]!;
    expect(web).to.include({ ctr: 'web', img: 'nginx:1.25', id: WEB, oomk: 1, pidsl: 100, lim: 256 * 1024 * 1024 });
    expect(web.cpu).to.deep.equal([35, 15]);
    expect(web.cpuu).to.equal(50.000000123);
    expect(web.thr).to.deep.equal([2500, 45, 0.615]);
    expect(web.io).to.deep.equal({ sda: [204800, 409600, 14, 24] });
    expect(web.oom).to.equal(undefined);
    expect(web.psi).to.equal(undefined);
    expect(c.g['/system.slice']!.lim).to.equal(undefined);
    expect(c.g['/kubepods/burstable/pod5e4d3c2b-aaaa-4bbb-8ccc-dddddddddddd']).to.include({ pod: '5e4d3c2b-aaaa-4bbb-8ccc-dddddddddddd', qos: 'burstable' });
    expect(c.g['/kubepods/pod9a8b7c6d-1234-4f5e-8a9b-0c1d2e3f4a5b']).to.include({ qos: 'guaranteed' });
    // the cut-short blkio file: that group's IO only
    const cron = c.g['/system.slice/cron.service']!;
    expect(cron.err).to.match(/cron\.service\/blkio\.throttle\.io_serviced:1: last line cut short/);
    expect(cron.io).to.deep.equal({});
    expect(cron.cpu).to.have.length(2);
    // its PSI from the hybrid's v2 mount, where systemd mirrors it; the docker group has none there
    expect(cron.psi).to.deep.equal({ cpu: { some: 2.5, full: 1 }, memory: { some: 0, full: 0 }, io: { some: 0.7, full: 0.6 } });
    expect(c.n).to.equal(10);
  });

  it('include, exclude and max: the rest summed into "other" (topmost groups only) and counted', async () => {
    const c = (await collect('v2', { PERFWATCH_CGROUP_MAX: '3', PERFWATCH_CGROUP_EXCLUDE: '^/init\\.scope$' })).cgroups!;
    // named first (units), then shallower, then by path
    expect(Object.keys(c.g)).to.deep.equal(['/system.slice', '/system.slice/-.mount', '/user.slice', 'other']);
    expect(c.n).to.equal(9);
    expect(c.o).to.equal(6);
    const all = (await collect('v2', { PERFWATCH_CGROUP_EXCLUDE: '^/init\\.scope$' })).cgroups!;
    const top = ['/system.slice/broken.service', '/system.slice/nginx.service', '/system.slice/sshd.service', '/user.slice/user-1000.slice'];
    expect(c.g.other!.cpuu).to.be.closeTo(top.reduce((s, p) => s + all.g[p]!.cpuu!, 0), 1e-9);
    const only = (await collect('v2', { PERFWATCH_CGROUP_INCLUDE: '^/user\\.slice' })).cgroups!;
    expect(Object.keys(only.g)).to.deep.equal(['/user.slice', '/user.slice/user-1000.slice', '/user.slice/user-1000.slice/session-2.scope']);
    expect(only.o).to.equal(0);
  });

  it('selectCgroups keeps the order of discovery; sumCgroups adds what adds up', () => {
    const r = selectCgroups([{ path: '/a/b/c', named: false }, { path: '/z.service', named: true }, { path: '/a', named: false }], 2);
    expect(r).to.deep.equal({ kept: ['/z.service', '/a'], rest: ['/a/b/c'] });
    expect(sumCgroups([{ cpu: [1, 2], io: { sda: [1, 2, 3, 4] }, lim: 5, ctr: 'x' }, { cpu: [3, 4], io: { sda: [1, 1, 1, 1], sdb: [9, 9, 9, 9] }, ms: { rss: 3 } }]))
      .to.deep.equal({ cpu: [4, 6], io: { sda: [2, 3, 4, 5], sdb: [9, 9, 9, 9] }, ms: { rss: 3 } });
  });

  it('a group removed between two collections ends its series; a new one starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'perfwatch-cg-gone-'));
    try {
      cpSync(`${FIXTURES}cgroups/docker`, dir, { recursive: true, verbatimSymlinks: true });
      const pipeline = new SnapshotPipeline(testConfig({ PERFWATCH_SYS_ROOT: join(dir, 'sys'), PERFWATCH_ROOTFS: join(dir, 'rootfs') }), [cgroup], quietLogger());
      const web = `/system.slice/docker-${WEB}.scope`;
      const before = await pipeline.collect(0);
      expect(before.cgroups!.g).to.have.property(web);
      rmSync(join(dir, 'sys/fs/cgroup', web), { recursive: true });
      cpSync(join(dir, 'sys/fs/cgroup/system.slice/docker.service'), join(dir, 'sys/fs/cgroup/system.slice/later.service'), { recursive: true });
      const after = await pipeline.collect(0);
      expect(after.cgroups!.g).to.not.have.property(web);
      expect(after.cgroups!.g['/system.slice/later.service']).to.include({ unit: 'later.service' });
      expect(after.cgroups!.n).to.equal(before.cgroups!.n);
      expect(renderSnapshotText(after)).to.not.contain(WEB);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('no cgroup hierarchy (the small fixture machine): no section, and the collector succeeds', async () => {
    const snap = await new SnapshotPipeline(testConfig({}, 'small'), [cgroup], quietLogger()).collect(0);
    expect(snap.cgroups).to.equal(undefined);
    expect(snap.col.cgroup).to.include({ ok: true });
  });
});

describe('cgroup discovery', () => {
  it('walkCgroups (the addon\'s listDirs where built) finds what readdirSync finds, in the same order', () => {
    for (const root of [`${FIXTURES}cgroups/v2/sys/fs/cgroup`, `${FIXTURES}cgroups/v1/sys/fs/cgroup/memory`, `${FIXTURES}cgroups/docker/sys/fs/cgroup`]) {
      const fs = [...walkCgroupsFs(root)].sort();
      expect(fs.length).to.be.greaterThan(3);
      expect([...walkCgroups(root)].sort()).to.deep.equal(fs);
    }
  });
});

describe('periodOf: when an idle group\'s files come due again', () => {
  it('stays within [max/2, max] and spreads 200 groups read together evenly over the collections that follow', () => {
    const max = 30_000;
    const paths = Array.from({ length: 200 }, (_, i) => `/system.slice/docker-${(i.toString(16).padStart(8, '0') + 'ab').repeat(7).slice(0, 64)}.scope`);
    // every group read at the first collection (t = 0), then whenever due, one collection every 5 s
    const due = paths.map((p) => periodOf(p, max, 0));
    const perTick: number[] = [];
    for (let tick = 1; tick <= 240; tick++) {
      const now = tick * 5000;
      let n = 0;
      paths.forEach((p, i) => {
        if (now < due[i]!) return;
        n++;
        const period = periodOf(p, max, now);
        expect(period).to.be.within(max / 2, max);
        due[i] = now + period;
      });
      perTick.push(n);
    }
    // a group is read every 3 to 6 collections: ~44 a collection; after the first half-minute
    // no collection reads more than 1.6 times that (a period from the path alone read all 200
    // together every 60th collection)
    const later = perTick.slice(12);
    const mean = later.reduce((a, b) => a + b, 0) / later.length;
    expect(mean).to.be.within(200 / 6, 200 / 3);
    expect(Math.max(...later)).to.be.at.most(1.6 * mean);
    expect(Math.min(...later)).to.be.at.least(0.4 * mean);
  });
});
