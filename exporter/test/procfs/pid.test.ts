import { expect } from 'chai';
import { mainCgroup, parsePidCgroup, readPidCgroup } from '../../src/procfs/pid_cgroup.js';
import { parsePidIo, readPidIo, type PidIo } from '../../src/procfs/pid_io.js';
import { parsePidStat, readPidStat, type PidStat } from '../../src/procfs/pid_stat.js';
import { parsePidStatus, readPidStatus } from '../../src/procfs/pid_status.js';
import { itRejectsDirectory, malformedCases, runTable } from './table.js';

const STAT = '/proc/4242/stat';
const TAIL = '4184 4184 22089 0 -1 4194560 5153 0 0 0 712 93 0 0 20 0 11 0 184110 1151967232 12345 18446744073709551615 1 1 0 0 0 0 0 4096 134234626 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n';

describe('procfs/pid_stat', () => {
  runTable<PidStat>(STAT, (t) => parsePidStat(t, STAT), [
    { name: 'a node process', input: `4242 (node) S ${TAIL}`, expect: { comm: 'node', state: 'S', ppid: 4184, flags: 4194560, utime: 712, stime: 93, threads: 11, starttime: 184110, rss: 12345 } },
    { name: 'comm with spaces and a ")" (found from the last ") ")', input: `4242 (tmux: a) b) R ${TAIL}`, expect: { comm: 'tmux: a) b', state: 'R', ppid: 4184, flags: 4194560, utime: 712, stime: 93, threads: 11, starttime: 184110, rss: 12345 } },
    { name: 'a kernel thread (rss 0, PF_KTHREAD in flags)', input: `2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 1 0 0 20 0 1 0 2 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n`, expect: { comm: 'kthreadd', state: 'S', ppid: 0, flags: 2129984, utime: 0, stime: 1, threads: 1, starttime: 2, rss: 0 } },
    { name: 'no parentheses', input: `4242 node S ${TAIL}`, error: { line: 1, contains: 'no "(comm)"' } },
    { name: 'cut after starttime', input: '4242 (node) S 1 1 1 0 -1 0 0 0 0 0 712 93 0 0 20 0 11 0 184110\n', error: { line: 1, contains: 'at least 24 fields' } },
    { name: 'two lines', input: `4242 (node) S ${TAIL}4242 (node) S ${TAIL}`, error: { line: 2, contains: 'single line' } },
    ...malformedCases<PidStat>(`4242 (node) S ${TAIL}`, { nan: { input: `4242 (node) S ${TAIL.replace('712', 'NaN')}`, line: 1 } }),
    { name: 'malformed: a line over 4 KiB (comm is at most 15 characters)', input: `4242 (${'x'.repeat(5000)}) S ${TAIL}`, error: { line: 1, contains: 'at most 4096' } },
  ]);
  itRejectsDirectory((root) => readPidStat(root, '4242'), '4242/stat');
  it("reader: this process's own stat", () => {
    const s = readPidStat('/proc', String(process.pid));
    expect(s.threads).to.be.at.least(1);
    expect(s.rss).to.be.greaterThan(0);
  });
});

describe('procfs/pid_io', () => {
  const FILE = '/proc/4242/io';
  const real = 'rchar: 6976\nwchar: 12\nsyscr: 10\nsyscw: 1\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n';
  runTable<PidIo>(FILE, (t) => parsePidIo(t, FILE), [
    { name: 'as the kernel prints it', input: real, expect: { rchar: 6976, wchar: 12, readBytes: 4096, writeBytes: 8192 } },
    { name: 'not key: value', input: 'rchar 1\n', error: { line: 1, contains: 'expected "key: value"' } },
    ...malformedCases<PidIo>(real, { nan: { input: 'rchar: NaN\n', line: 1 } }),
  ]);
  it('no read_bytes line: an error naming the field', () => expect(() => parsePidIo('rchar: 1\nwchar: 2\n', FILE)).to.throw('no read_bytes'));
  itRejectsDirectory((root) => readPidIo(root, '4242'), '4242/io');
});

describe('procfs/pid_status: what the kernel never writes', () => {
  const FILE = '/proc/4242/status';
  const real = 'Name:\tnode\nState:\tS (sleeping)\nVmRSS:\t   49380 kB\nRssAnon:\t   30000 kB\nVmSwap:\t       0 kB\nThreads:\t11\n';
  const obj = (t: string) => Object.fromEntries(parsePidStatus(t, FILE));
  runTable<Record<string, number>>(FILE, obj, [
    { name: 'a kernel thread: no memory fields', input: 'Name:\tkthreadd\nState:\tS (sleeping)\nThreads:\t1\n', expect: {} },
    { name: 'not "Key: value"', input: 'Name node\n', error: { line: 1, contains: 'expected "Key: value"' } },
    { name: 'a memory field cut at a line boundary (no unit)', input: 'Name:\tnode\nVmRSS:\t   49380\n', error: { line: 2, contains: 'VmRSS' } },
    ...malformedCases<Record<string, number>>(real, { nan: { input: 'Name:\tnode\nVmRSS:\t NaN kB\n', line: 2 } }),
  ]);
  itRejectsDirectory((root) => readPidStatus(root, '4242'), '4242/status');
});

describe('procfs/pid_cgroup: what the kernel never writes', () => {
  const FILE = '/proc/4242/cgroup';
  const obj = (t: string) => Object.fromEntries(parsePidCgroup(t, FILE));
  runTable<Record<string, string>>(FILE, obj, [
    { name: 'hybrid', input: '4:memory:/docker/abc\n0::/\n', expect: { memory: '/docker/abc', '': '/' } },
    { name: 'a path without its leading /', input: '0::system.slice\n', error: { line: 1, contains: 'id:controllers:/path' } },
    ...malformedCases<Record<string, string>>('9:name=systemd:/system.slice/nginx.service\n0::/system.slice/nginx.service\n'),
  ]);
  itRejectsDirectory((root) => readPidCgroup(root, '4242'), '4242/cgroup');
});

describe('procfs/pid_status and pid_cgroup', () => {
  it('status: memory fields in bytes, others skipped', () => {
    const m = parsePidStatus('Name:\tnode\nState:\tS (sleeping)\nVmRSS:\t   49380 kB\nRssAnon:\t   30000 kB\nVmSwap:\t       0 kB\nThreads:\t11\n', 'f');
    expect(Object.fromEntries(m)).to.deep.equal({ VmRSS: 49380 * 1024, RssAnon: 30000 * 1024, VmSwap: 0 });
    expect(() => parsePidStatus('VmRSS:\t12 MB\n', 'f')).to.throw('expected "<number> kB" for VmRSS');
  });
  it('cgroup: v2 only, hybrid v1 + v2, and the path that names the process', () => {
    const v2 = parsePidCgroup('0::/system.slice/nginx.service\n', 'f');
    expect(mainCgroup(v2)).to.equal('/system.slice/nginx.service');
    const hybrid = parsePidCgroup('9:name=systemd:/\n4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n0::/\n', 'f');
    expect(mainCgroup(hybrid)).to.equal('/docker/abc');
    expect(mainCgroup(parsePidCgroup('0::/\n', 'f'))).to.equal('/');
    expect(() => parsePidCgroup('memory:/x\n', 'f')).to.throw('expected "id:controllers:/path"');
  });
});
