/** Host readers over fixture trees (test/fixtures/<host>/{proc,sys}) and the live machine. */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import {
  capabilitiesFromMask,
  checkFdBudget,
  effectiveCapabilities,
  eventSources,
  fdLimit,
  fdsNeeded,
  hardwarePmus,
  onlineCpus,
  openFdCount,
  parseCapEff,
  parseCpuList,
  parseLimitsNofile,
  perfEventParanoid,
  PerfError,
} from '../lib/index.js';

const fixture = (p: string): string => fileURLToPath(new URL(`./fixtures/${p}`, import.meta.url));

describe('parseCpuList', function () {
  const cases: [string, number[]][] = [
    ['0', [0]],
    ['0-3', [0, 1, 2, 3]],
    ['0-3,5\n', [0, 1, 2, 3, 5]],
    ['0,2,4-5', [0, 2, 4, 5]],
    ['', []],
    ['\n', []],
  ];
  for (const [text, want] of cases) {
    it(`parses ${JSON.stringify(text)}`, function () {
      expect(parseCpuList(text)).to.deep.equal(want);
    });
  }
  for (const bad of ['a', '0-', '3-1', '0,,1', '-1']) {
    it(`rejects ${JSON.stringify(bad)} naming the source`, function () {
      expect(() => parseCpuList(bad, '/sys/x')).to.throw(PerfError, '/sys/x');
    });
  }
});

describe('host readers over fixtures', function () {
  it('onlineCpus reads /sys/devices/system/cpu/online', function () {
    expect(onlineCpus(fixture('host/sys'))).to.deep.equal([0, 1, 2, 3, 5]);
  });

  it('perfEventParanoid reads the sysctl; undefined when the file is missing', function () {
    expect(perfEventParanoid(fixture('host/proc'))).to.equal(2);
    expect(perfEventParanoid(fixture('vm/proc'))).to.equal(undefined);
  });

  it('effectiveCapabilities decodes CapEff (CAP_PERFMON only in the fixture)', function () {
    const caps = effectiveCapabilities(fixture('host/proc'));
    expect(caps).to.deep.include({ capEff: '0000004000000000', perfmon: true, sysAdmin: false, sysPtrace: false });
    expect(caps.names).to.deep.equal(['CAP_PERFMON']);
  });

  it('capabilitiesFromMask and parseCapEff: root, none, malformed', function () {
    expect(capabilitiesFromMask(0x1fffeffffffn).names).to.deep.equal(['CAP_SYS_PTRACE', 'CAP_SYS_ADMIN', 'CAP_PERFMON']);
    expect(capabilitiesFromMask(0n).names).to.deep.equal([]);
    expect(capabilitiesFromMask(1n << 21n)).to.include({ sysAdmin: true, perfmon: false });
    expect(() => parseCapEff('Name: x\n', 'status')).to.throw(PerfError, 'no CapEff');
  });

  it('fdLimit from /proc/<pid>/limits, unlimited as Infinity, malformed named', function () {
    expect(fdLimit(fixture('host/proc'))).to.deep.equal({ soft: 1024, hard: 524288 });
    expect(parseLimitsNofile('Max open files            unlimited            unlimited            files\n')).to.deep.equal({ soft: Infinity, hard: Infinity });
    expect(() => parseLimitsNofile('', '/proc/self/limits')).to.throw(PerfError, '/proc/self/limits');
  });

  it('hardwarePmus finds cpu (x86), a PERF_TYPE_RAW PMU (arm), none on a VM', function () {
    expect(hardwarePmus(fixture('host/sys'))).to.deep.equal(['cpu']);
    expect(hardwarePmus(fixture('arm/sys'))).to.deep.equal(['armv8_pmuv3_0']);
    expect(hardwarePmus(fixture('vm/sys'))).to.deep.equal([]);
    expect(eventSources(fixture('vm/sys'))).to.deep.equal(['breakpoint', 'msr', 'software', 'tracepoint', 'uprobe']);
    expect(eventSources(fixture('nowhere'))).to.deep.equal([]);
  });
});

describe('host readers on this machine', function () {
  it('agree with the kernel', function () {
    expect(onlineCpus().length).to.be.greaterThan(0);
    expect(perfEventParanoid()).to.be.a('number');
    // getrlimit(2) through the addon and /proc/self/limits describe the same limit.
    const lim = fdLimit();
    expect(lim.soft).to.be.at.most(lim.hard);
    expect(lim).to.deep.equal(parseLimitsNofile(readFileSync('/proc/self/limits', 'utf8')));
    expect(openFdCount()).to.be.greaterThan(2);
  });
});

describe('fdsNeeded', function () {
  const cases: [Parameters<typeof fdsNeeded>[0], number][] = [
    [{ events: 7, cpus: 2 }, 14],
    [{ events: ['a', 'b'], cpus: [0, 1, 2, 3] }, 8],
    [{ events: 7, cpus: 64, cgroups: 3 }, 7 * 64 * 4 + 1],
    [{ events: 7, cpus: 64, cgroups: ['/a', '/b'], systemWide: false }, 7 * 64 * 2 + 1],
    [{ events: 0, cpus: 64 }, 0],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} -> ${want}`, function () {
      expect(fdsNeeded(input)).to.equal(want);
    });
  }
});

describe('checkFdBudget', function () {
  const limit = { soft: 1024, hard: 4096 };

  it('fits: ok, no error, what is left', function () {
    const r = checkFdBudget(100, { limit, openFds: 20, reserve: 64 });
    expect(r).to.deep.include({ ok: true, needed: 100, available: 1024 - 20 - 64 });
    expect(r.error).to.equal(undefined);
  });

  it('over the configured budget: reason "fd budget" naming both numbers', function () {
    const r = checkFdBudget(896, { budget: 500, limit, openFds: 20 });
    expect(r.ok).to.equal(false);
    expect(r.error).to.be.instanceOf(PerfError).and.include({ reason: 'fd budget', code: 'PERF_FD_BUDGET' });
    expect(r.error?.message).to.contain('896 fds').and.contain('budget is 500');
  });

  it('over RLIMIT_NOFILE: reason "too many open files" naming the limit, and how to raise it', function () {
    const r = checkFdBudget(2000, { limit, openFds: 20 });
    expect(r.ok).to.equal(false);
    expect(r.error).to.include({ reason: 'too many open files', code: 'PERF_TOO_MANY_OPEN_FILES' });
    expect(r.error?.message).to.contain('2000 fds').and.contain('RLIMIT_NOFILE soft limit is 1024 (hard 4096)').and.contain('20 already open');
    expect(r.error?.fix).to.contain('ulimit -n 4096').and.contain('LimitNOFILE');
  });

  it('reads the live limit and fd count by default', function () {
    const r = checkFdBudget(1);
    expect(r.ok).to.equal(true);
    expect(r.openFds).to.be.greaterThan(2);
  });
});
