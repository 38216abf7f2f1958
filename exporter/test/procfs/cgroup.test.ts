import { expect } from 'chai';
import { cgroupName, type CgroupName } from '../../src/cgroup/names.js';
import { parseDockerConfig } from '../../src/cgroup/docker.js';
import { parseBlkio, parseFlatKeyed, parseIoStat, parseSingleValue, type IoCounts } from '../../src/procfs/cgroup.js';
import { malformedCases, runTable, type Case } from './table.js';

const CPU_STAT = '/sys/fs/cgroup/system.slice/cpu.stat';
const flat = (text: string) => Object.fromEntries(parseFlatKeyed(text, CPU_STAT));

describe('procfs/cgroup: key-value files (cpu.stat, memory.stat, memory.events, cpuacct.stat)', () => {
  runTable<Record<string, number>>(CPU_STAT, flat, [
    {
      name: 'v2 cpu.stat of a group with a CPU quota (6.x: core_sched and burst keys)',
      input: 'usage_usec 2079012\nuser_usec 1501000\nsystem_usec 578012\ncore_sched.force_idle_usec 0\nnr_periods 120\nnr_throttled 7\nthrottled_usec 93312\nnr_bursts 0\nburst_usec 0\n',
      expect: { usage_usec: 2079012, user_usec: 1501000, system_usec: 578012, 'core_sched.force_idle_usec': 0, nr_periods: 120, nr_throttled: 7, throttled_usec: 93312, nr_bursts: 0, burst_usec: 0 },
    },
    { name: 'v1 cpuacct.stat (USER_HZ ticks)', input: 'user 4523\nsystem 1290\n', expect: { user: 4523, system: 1290 } },
    { name: 'v1 memory.stat: hierarchical_memory_limit of "no limit" (19 digits)', input: 'cache 8192\nhierarchical_memory_limit 9223372036854771712\n', expect: { cache: 8192, hierarchical_memory_limit: 9223372036854771712 } },
    { name: 'three fields on a line', input: 'anon 12 13\n', error: { line: 1, contains: 'expected "key value"' } },
    { name: 'a key the kernel never prints', input: 'usage_usec 1\nUser 2\n', error: { line: 2, contains: '"User"' } },
    { name: 'negative where the kernel prints unsigned: a number still (the parser is not the judge)', input: 'oom -1\n', expect: { oom: -1 } },
    ...malformedCases<Record<string, number>>('usage_usec 2079012\nuser_usec 1501000\n', { nan: { input: 'usage_usec NaN\n', line: 1 } }),
  ]);
});

describe('procfs/cgroup: single values (memory.current, memory.max, pids.max, limit_in_bytes)', () => {
  const FILE = '/sys/fs/cgroup/a/memory.max';
  runTable<number | undefined>(FILE, (t) => parseSingleValue(t, FILE), [
    { name: 'a number', input: '536870912\n', expect: 536870912 },
    { name: '"max" (v2: no limit) is absent', input: 'max\n', expect: undefined },
    { name: 'v1 "no limit" (PAGE_COUNTER_MAX pages) is absent', input: '9223372036854771712\n', expect: undefined },
    { name: 'two lines', input: '1\n2\n', error: { line: 2, contains: 'single line' } },
    { name: 'text', input: 'unlimited\n', error: { line: 1, contains: '"unlimited"' } },
    ...malformedCases<number | undefined>('536870912\n', { nan: { input: 'NaN\n', line: 1 } }),
  ]);
});

describe('procfs/cgroup: io.stat (v2)', () => {
  const FILE = '/sys/fs/cgroup/a/io.stat';
  const parse = (t: string) => Object.fromEntries(parseIoStat(t, FILE));
  runTable<Record<string, IoCounts>>(FILE, parse, [
    {
      name: 'two devices, with the discard keys',
      input: '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n259:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6\n',
      expect: { '8:0': { rbytes: 4096, wbytes: 8192, rios: 1, wios: 2 }, '259:0': { rbytes: 1, wbytes: 2, rios: 3, wios: 4 } },
    },
    { name: 'io.cost and io.latency keys are ignored', input: '8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0 cost.vrate=100.00 depth=1 avg_lat=5\n', expect: { '8:0': { rbytes: 1, wbytes: 2, rios: 3, wios: 4 } } },
    { name: 'no device line', input: 'rbytes=1\n', error: { line: 1, contains: 'major:minor' } },
    { name: 'a bare token', input: '8:0 rbytes=1 x\n', error: { line: 1, contains: 'key=value, got "x"' } },
    ...malformedCases<Record<string, IoCounts>>('8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n', { empty: {}, nan: { input: '8:0 rbytes=NaN\n', line: 1 } }),
  ]);
});

describe('procfs/cgroup: blkio.throttle.* (v1)', () => {
  const FILE = '/sys/fs/cgroup/blkio/docker/blkio.throttle.io_service_bytes';
  const parse = (t: string) => Object.fromEntries(parseBlkio(t, FILE));
  runTable<Record<string, [number, number]>>(FILE, parse, [
    {
      name: 'one device with every operation, then the total',
      input: '8:0 Read 40960\n8:0 Write 81920\n8:0 Sync 40960\n8:0 Async 81920\n8:0 Discard 0\n8:0 Total 122880\nTotal 122880\n',
      expect: { '8:0': [40960, 81920] },
    },
    { name: 'nothing done yet: "Total 0" alone', input: 'Total 0\n', expect: {} },
    { name: 'operation without a value', input: '8:0 Read\n8:0 Write 0\nTotal 0\n', error: { line: 1, contains: 'expected "major:minor Op value"' } },
    { name: 'cut short at a line boundary: no "Total" line last', input: '8:0 Read 40960\n8:0 Write 81920\n', error: { line: 2, contains: '"Total" line last' } },
    ...malformedCases<Record<string, [number, number]>>('8:0 Read 40960\nTotal 40960\n', { nan: { input: '8:0 Read NaN\nTotal 0\n', line: 1 } }),
  ]);
});

describe('cgroup names from the path', () => {
  const uid = '9a8b7c6d-1234-4f5e-8a9b-0c1d2e3f4a5b';
  const id = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
  const cases: [string, CgroupName][] = [
    ['/system.slice/nginx.service', { unit: 'nginx.service' }],
    ['/user.slice/user-1000.slice/session-2.scope', { unit: 'session-2.scope' }],
    [`/system.slice/docker-${id}.scope`, { id, unit: `docker-${id}.scope` }],
    [`/docker/${id}`, { id }],
    [`/machine.slice/libpod-${id}.scope`, { id, unit: `libpod-${id}.scope` }],
    [`/kubepods.slice/kubepods-pod${uid.replaceAll('-', '_')}.slice`, { unit: `kubepods-pod${uid.replaceAll('-', '_')}.slice`, pod: uid, qos: 'guaranteed' }],
    [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replaceAll('-', '_')}.slice/cri-containerd-${id}.scope`, { id, unit: `cri-containerd-${id}.scope`, pod: uid, qos: 'burstable' }],
    [`/kubepods/besteffort/pod${uid}/${id}`, { id, pod: uid, qos: 'besteffort' }],
    [`/kubepods/pod${uid}/crio-${id}`, { id, pod: uid, qos: 'guaranteed' }],
    ['/kubepods.slice/kubepods-burstable.slice', { unit: 'kubepods-burstable.slice' }],
    // a pod-looking name outside kubepods is not a pod; a 63-digit id is not an id
    [`/system.slice/pod${uid}.service`, { unit: `pod${uid}.service` }],
    [`/docker/${id.slice(1)}`, {}],
    ['/', {}],
  ];
  for (const [path, want] of cases) it(path, () => expect(cgroupName(path)).to.deep.equal(want));
});

describe('Docker config.v2.json', () => {
  it('name without its slash, and the image as asked for', () => {
    expect(parseDockerConfig('{"ID":"x","Name":"/web","Config":{"Image":"nginx:1.25"}}', 'f')).to.deep.equal({ name: 'web', image: 'nginx:1.25' });
  });
  it('missing fields are absent; cut short JSON throws', () => {
    expect(parseDockerConfig('{"ID":"x"}', 'f')).to.deep.equal({});
    expect(() => parseDockerConfig('{"ID":"x', 'f')).to.throw(SyntaxError);
    expect(() => parseDockerConfig('null', 'f')).to.throw('not a JSON object');
  });
});
