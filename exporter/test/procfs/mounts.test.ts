import { expect } from 'chai';
import { parseMounts, readMounts, type Mount } from '../../src/procfs/mounts.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/self/mounts';

const SAMPLE = 'proc /proc proc rw,relatime 0 0\n/dev/vda / ext4 rw,relatime 0 0\n';

const cases: Case<Mount[]>[] = [
  {
    name: 'real sample',
    input: `proc /proc proc rw,relatime 0 0
/dev/vda / ext4 rw,relatime,discard,resv_strict,resuid=65534,resgid=65534 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
`,
    expect: [
      { device: 'proc', mountPoint: '/proc', fsType: 'proc', options: ['rw', 'relatime'] },
      {
        device: '/dev/vda',
        mountPoint: '/',
        fsType: 'ext4',
        options: ['rw', 'relatime', 'discard', 'resv_strict', 'resuid=65534', 'resgid=65534'],
      },
      { device: 'cgroup2', mountPoint: '/sys/fs/cgroup/unified', fsType: 'cgroup2', options: ['rw', 'relatime'] },
    ],
  },
  {
    name: 'octal escapes: space, tab, newline, backslash; other bytes as printed',
    input: String.raw`//nas/my\040share /mnt/a\011b\012c\134d cifs rw,vers=3.0 0 0
/dev/sdb1 /media/Ünïcode\040disk vfat ro 0 0
`,
    expect: [
      { device: '//nas/my share', mountPoint: '/mnt/a\tb\nc\\d', fsType: 'cifs', options: ['rw', 'vers=3.0'] },
      { device: '/dev/sdb1', mountPoint: '/media/Ünïcode disk', fsType: 'vfat', options: ['ro'] },
    ],
  },
  {
    name: 'escaped comma inside an option value does not split it',
    input: String.raw`sshfs#me@host:/x /mnt/x fuse.sshfs rw,subtype=a\054b 0 0` + '\n',
    expect: [{ device: 'sshfs#me@host:/x', mountPoint: '/mnt/x', fsType: 'fuse.sshfs', options: ['rw', 'subtype=a,b'] }],
  },
  {
    name: 'only 4 fields (dump/pass missing) is tolerated; extra fields are tolerated too',
    input: 'tmpfs /tmp tmpfs rw\ntmpfs /run tmpfs rw 0 0 extra\n',
    expect: [
      { device: 'tmpfs', mountPoint: '/tmp', fsType: 'tmpfs', options: ['rw'] },
      { device: 'tmpfs', mountPoint: '/run', fsType: 'tmpfs', options: ['rw'] },
    ],
  },
  { name: 'empty input: a mount namespace with nothing this process can see', input: '', expect: [] },
  { name: 'a mount point that is not an absolute path', input: 'proc /proc proc rw 0 0\nproc proc proc rw 0 0\n', error: { line: 2, contains: 'absolute mount point' } },
  { name: 'truncated line (3 fields) is an error', input: 'proc /proc proc rw 0 0\nsysfs /sys sysfs\n', error: { line: 2, contains: 'at least 4 fields, got 3' } },
];

describe('procfs/mounts', () => {
  runTable(FILE, (text) => parseMounts(text, FILE), cases);

  it('reader: this process sees / and /proc mounted', () => {
    const mounts = readMounts('/proc');
    const points = mounts.map((m) => m.mountPoint);
    expect(points).to.include.members(['/', '/proc']);
    expect(mounts.find((m) => m.mountPoint === '/proc')?.fsType).to.equal('proc');
  });

  itPropagatesEnoent(readMounts);
  runTable(FILE, (text) => parseMounts(text, FILE), malformedCases(SAMPLE, { empty: [] }));
  itRejectsDirectory(readMounts, 'self/mounts');
});
