/** explainOpenFailure: every errno a person can meet, with the facts that change the advice. */
import { expect } from 'chai';

import { capabilitiesFromMask, describeTarget, EVENTS, explainOpenFailure, formatCpuList, PERF_ERROR_CODES, type OpenFailure, type PerfReason, type SystemFacts } from '../lib/index.js';

const noCaps = capabilitiesFromMask(0n);
const perfmon = capabilitiesFromMask(1n << 38n);
const vmFacts: SystemFacts = {
  paranoid: 2,
  capabilities: noCaps,
  uid: 1000,
  fdLimit: { soft: 1024, hard: 1024 },
  openFds: 1000,
  hardwarePmus: [],
  allPmus: ['breakpoint', 'msr', 'software', 'tracepoint', 'uprobe'],
  onlineCpus: [0, 1],
};
const hostFacts: SystemFacts = { ...vmFacts, hardwarePmus: ['cpu'], allPmus: ['cpu', 'software'] };

const fail = (over: Partial<OpenFailure>): OpenFailure => ({
  errno: 'EACCES',
  syscall: 'perf_event_open',
  event: EVENTS['task-clock'],
  target: { cpu: 0 },
  fdsNeeded: 1,
  ...over,
});

describe('explainOpenFailure', function () {
  const cases: { name: string; f: OpenFailure; facts?: SystemFacts; reason: PerfReason; says: string[] }[] = [
    {
      name: 'EACCES system-wide, paranoid 2, no capabilities',
      f: fail({}),
      reason: 'permission',
      says: ['perf_event_paranoid is 2', 'uid 1000', 'lacks CAP_PERFMON and CAP_SYS_ADMIN', 'needs perf_event_paranoid <= 0 or CAP_PERFMON'],
    },
    {
      name: 'EPERM in a cgroup, Debian level 3',
      f: fail({ errno: 'EPERM', target: { cgroupPath: '/sys/fs/cgroup/a', cpu: 1 } }),
      facts: { ...vmFacts, paranoid: 3 },
      reason: 'permission',
      says: ['perf_event_paranoid is 3', 'level 3', 'cgroup /sys/fs/cgroup/a on cpu 1'],
    },
    {
      name: 'EACCES per process counting kernel mode',
      f: fail({ target: { pid: 42 } }),
      reason: 'permission',
      says: ['pid 42 on any CPU', 'kernel mode needs perf_event_paranoid <= 1', 'CAP_SYS_PTRACE'],
    },
    {
      name: 'EACCES with CAP_PERFMON present: seccomp or LSM',
      f: fail({ errno: 'EPERM' }),
      facts: { ...vmFacts, capabilities: perfmon },
      reason: 'permission',
      says: ['has CAP_PERFMON', 'seccomp'],
    },
    {
      name: 'EACCES with unknown paranoid and capabilities',
      f: fail({}),
      facts: {},
      reason: 'permission',
      says: ['perf_event_paranoid is unknown', 'has unknown capabilities'],
    },
    {
      name: 'ENOENT for cpu-cycles without a PMU',
      f: fail({ errno: 'ENOENT', event: EVENTS['cpu-cycles'] }),
      reason: 'not supported',
      says: ['cpu-cycles', 'no hardware PMU', 'breakpoint, msr, software, tracepoint, uprobe'],
    },
    {
      name: 'EOPNOTSUPP for a cache event without a PMU',
      f: fail({ errno: 'EOPNOTSUPP', event: EVENTS['LLC-load-misses'] }),
      reason: 'not supported',
      says: ['no hardware PMU'],
    },
    {
      name: 'ENOENT for stalled-cycles-frontend on a PMU that lacks it',
      f: fail({ errno: 'ENOENT', event: EVENTS['stalled-cycles-frontend'] }),
      facts: hostFacts,
      reason: 'not supported',
      says: ["PMU does not implement"],
    },
    {
      name: 'ENODEV for a hardware event on an online CPU',
      f: fail({ errno: 'ENODEV', event: EVENTS.instructions }),
      facts: hostFacts,
      reason: 'not supported',
      says: ['ENODEV'],
    },
    {
      name: 'ENOSYS',
      f: fail({ errno: 'ENOSYS' }),
      reason: 'not supported',
      says: ['CONFIG_PERF_EVENTS'],
    },
    {
      name: 'EMFILE names the limit and the fds needed',
      f: fail({ errno: 'EMFILE', fdsNeeded: 64 }),
      reason: 'too many open files',
      says: ['needed 64 fds', 'RLIMIT_NOFILE soft limit is 1024 (hard 1024)', '1000 already open'],
    },
    {
      name: 'ENFILE is the system-wide table',
      f: fail({ errno: 'ENFILE' }),
      reason: 'too many open files',
      says: ['system-wide open file table'],
    },
    { name: 'EBUSY', f: fail({ errno: 'EBUSY', event: EVENTS['cpu-cycles'] }), facts: hostFacts, reason: 'busy', says: ['exclusive use'] },
    { name: 'ESRCH', f: fail({ errno: 'ESRCH', target: { pid: 99 } }), reason: 'no such process', says: ['pid 99'] },
    { name: 'ENODEV on an offline CPU', f: fail({ errno: 'ENODEV', target: { cpu: 1 } }), facts: { ...vmFacts, onlineCpus: [0] }, reason: 'cpu offline', says: ['cpu 1 is offline', 'online: 0'] },
    { name: 'EINVAL past the last CPU', f: fail({ errno: 'EINVAL', target: { cpu: 8 } }), reason: 'cpu offline', says: ['cpu 8', 'online: 0-1'] },
    {
      name: 'missing cgroup directory',
      f: fail({ errno: 'ENOENT', syscall: 'open', event: undefined, target: { cgroupPath: '/sys/fs/cgroup/gone', cpu: 0 } }),
      reason: 'no such cgroup',
      says: ['/sys/fs/cgroup/gone does not exist'],
    },
    {
      name: 'unreadable cgroup directory',
      f: fail({ errno: 'EACCES', syscall: 'open', event: undefined, target: { cgroupPath: '/sys/fs/cgroup/x', cpu: 0 } }),
      reason: 'permission',
      says: ['cannot open cgroup directory'],
    },
    {
      name: 'not a cgroup directory',
      f: fail({ errno: 'EBADF', target: { cgroupPath: '/tmp', cpu: 0 } }),
      reason: 'no such cgroup',
      says: ['/tmp is not a cgroup directory'],
    },
    {
      name: 'cgroup without the perf_event controller',
      f: fail({ errno: 'ENOENT', target: { cgroupPath: '/sys/fs/cgroup/cpu', cpu: 0 } }),
      reason: 'no such cgroup',
      says: ['without the perf_event controller'],
    },
    {
      name: 'hardware event in a cgroup on a VM is still "not supported"',
      f: fail({ errno: 'ENOENT', event: EVENTS.instructions, target: { cgroupPath: '/sys/fs/cgroup/a', cpu: 0 } }),
      reason: 'not supported',
      says: ['no hardware PMU'],
    },
    {
      name: 'EINVAL for a raw event on an online CPU',
      f: fail({ errno: 'EINVAL', event: { name: 'r00ff', type: 4, config: 0xff, kind: 'raw', unit: 'count', description: '' } }),
      facts: hostFacts,
      reason: 'invalid',
      says: ['type 4, config 0xff'],
    },
    { name: 'anything else', f: fail({ errno: 'ENOMEM' }), reason: 'error', says: ['ENOMEM'] },
  ];

  for (const c of cases) {
    it(`${c.name} -> ${c.reason}`, function () {
      const e = explainOpenFailure(c.f, c.facts ?? vmFacts);
      expect(e.reason).to.equal(c.reason);
      expect(e.code).to.equal(PERF_ERROR_CODES[c.reason]);
      expect(e.message.startsWith(`${c.reason}: `)).to.equal(true);
      expect(e.errno).to.equal(c.f.errno);
      for (const s of c.says) expect(e.message).to.contain(s);
      expect(e.fix, 'every reason says how to fix it').to.not.equal('');
    });
  }

  it('permission advice names the sysctl, CAP_PERFMON and Docker', function () {
    const e = explainOpenFailure(fail({}), vmFacts);
    expect(e.fix).to.contain('kernel.perf_event_paranoid').and.contain('CAP_PERFMON').and.contain('--cap-add PERFMON');
  });
});

describe('describeTarget and formatCpuList', function () {
  it('describes each target kind', function () {
    expect(describeTarget({ cpu: 3 })).to.equal('cpu 3 (system-wide)');
    expect(describeTarget({ pid: 7 })).to.equal('pid 7 on any CPU');
    expect(describeTarget({ pid: 7, cpu: 1 })).to.equal('pid 7 on cpu 1');
    expect(describeTarget({ cgroupPath: '/c', cpu: 0 })).to.equal('cgroup /c on cpu 0');
  });

  it('formats CPU lists like the kernel', function () {
    expect(formatCpuList([0, 1, 2, 3, 5])).to.equal('0-3,5');
    expect(formatCpuList([5, 0, 1])).to.equal('0-1,5');
    expect(formatCpuList([])).to.equal('none');
  });
});
