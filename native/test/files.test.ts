/** readFiles (src/files.cc): many small files in one call, each whole, or its errno. */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';

import { KeptFiles, keptFilesAvailable, listDirs, listDirsAvailable, openFdCount, readFiles, readFilesAvailable } from '../lib/index.js';
import { skip } from './helpers.js';

const { ENOENT, EISDIR, ENOTDIR, ELOOP } = constants.errno;

describe('readFiles', function () {
  let dir = '';

  before(function () {
    if (!readFilesAvailable()) skip(this, 'the addon is not built (or built without readFiles)');
    dir = mkdtempSync(join(tmpdir(), 'perfwatch-readfiles-'));
    writeFileSync(join(dir, 'a'), 'user_usec 1\nsystem_usec 2\n');
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'utf8'), 'app-ünï (x)\n');
    mkdirSync(join(dir, 'sub'));
    symlinkSync('loop', join(dir, 'loop'));
  });

  after(function () {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('gives each file whole, in order, or the errno of its open or read', function () {
    const r = readFiles([
      join(dir, 'a'),
      join(dir, 'missing'),
      join(dir, 'sub'),
      join(dir, 'empty'),
      join(dir, 'a', 'x'),
      join(dir, 'loop'),
      join(dir, 'utf8'),
      join(dir, 'a'),
    ]);
    expect(r).to.deep.equal(['user_usec 1\nsystem_usec 2\n', ENOENT, EISDIR, '', ENOTDIR, ELOOP, 'app-ünï (x)\n', 'user_usec 1\nsystem_usec 2\n']);
  });

  it('reads nothing for no paths', function () {
    expect(readFiles([])).to.deep.equal([]);
  });

  it('reads a file larger than its buffer to the end', function () {
    const big = `${'x'.repeat(3 << 20)}\n`;
    writeFileSync(join(dir, 'big'), big);
    const r = readFiles([join(dir, 'a'), join(dir, 'big'), join(dir, 'a')]);
    expect(r[1]).to.equal(big);
    expect(r[0]).to.equal(r[2]).and.equal('user_usec 1\nsystem_usec 2\n');
    // and the next batch, in the buffer kept from this one, too
    expect(readFiles([join(dir, 'big')])[0]).to.equal(big);
  });

  it('keeps files apart when a batch outgrows the buffer (256 KiB)', function () {
    const paths: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const p = join(dir, `f${i}`);
      writeFileSync(p, `${i} `.repeat(100) + '\n');
      paths.push(p);
    }
    const r = readFiles(paths);
    expect(r).to.have.length(1000);
    r.forEach((t, i) => expect(t).to.equal(`${i} `.repeat(100) + '\n'));
  });

  it('reads /proc files as readFileSync does (seq_file, more than a page)', function () {
    const [stat, status, maps] = readFiles(['/proc/self/stat', '/proc/self/status', '/proc/self/maps']);
    expect(stat).to.match(/^\d+ \(node\) R /);
    expect(String(status)).to.match(/^Name:\tnode\n/).and.match(/\nVmRSS:\s+\d+ kB\n/);
    // maps is longer than one seq_file page: read to EOF, not to the first short read
    expect(String(maps).length).to.be.greaterThan(4096);
    expect(String(maps).split('\n').slice(0, 3)).to.deep.equal(readFileSync('/proc/self/maps', 'utf8').split('\n').slice(0, 3));
  });

  it('does not hang on a FIFO where a file should be, and leaves no fd open', function () {
    const fifo = join(dir, 'fifo');
    const mk = spawnSync('mkfifo', [fifo]);
    if (mk.status !== 0) skip(this, 'mkfifo is not available');
    const before = openFdCount();
    expect(readFiles([fifo, join(dir, 'a')])).to.deep.equal(['', 'user_usec 1\nsystem_usec 2\n']);
    for (let i = 0; i < 100; i++) readFiles([join(dir, 'a'), join(dir, 'missing'), join(dir, 'sub')]);
    expect(openFdCount()).to.equal(before);
  });
});

describe('KeptFiles: readFiles with the descriptors kept for the next read', function () {
  let dir = '';
  const f = (name: string) => join(dir, name);

  before(function () {
    if (!keptFilesAvailable()) skip(this, 'the addon is not built (or built without closeFds)');
    dir = mkdtempSync(join(tmpdir(), 'perfwatch-keptfiles-'));
    for (const [name, text] of [['a', 'one\n'], ['b', 'two\n'], ['c', 'three\n']] as const) writeFileSync(f(name), text);
  });

  after(function () {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('reads as readFiles does, keeps a descriptor per readable file from its second read in a row, and reads a file rewritten in place anew', function () {
    const kept = new KeptFiles();
    const before = openFdCount();
    const paths = [f('a'), f('missing'), f('b'), '/proc/self/stat', f('a')];
    const first = kept.read(paths);
    expect(first.slice(0, 3)).to.deep.equal(readFiles(paths.slice(0, 3)));
    expect(first[1]).to.equal(ENOENT);
    // asked once so far: read and closed
    expect(kept.size).to.equal(0);
    expect(openFdCount()).to.equal(before);
    const again = kept.read(paths);
    expect(again.slice(0, 3)).to.deep.equal(first.slice(0, 3));
    expect(again[4]).to.equal('one\n');
    // a, b and /proc/self/stat; a asked twice is kept once
    expect(kept.size).to.equal(3);
    expect(openFdCount() - before).to.equal(3);
    writeFileSync(f('b'), 'two, longer now\n');
    const second = kept.read(paths);
    expect(second[2]).to.equal('two, longer now\n');
    expect(second[4]).to.equal('one\n');
    // /proc/self/stat made anew at each read: the same process, its fields as they are now
    expect(String(second[3]).split(' ')[0]).to.equal(String(process.pid));
    expect(openFdCount() - before).to.equal(3);
    // rewritten shorter, then longer than the buffer's first read (its size from fstat says where it ends)
    writeFileSync(f('b'), 'x\n');
    expect(kept.read(paths)[2]).to.equal('x\n');
    const big = 'y'.repeat(300_000);
    writeFileSync(f('b'), big);
    expect(kept.read(paths)[2]).to.equal(big);
    writeFileSync(f('b'), '');
    expect(kept.read(paths)[2]).to.equal('');
    kept.close();
    expect(kept.size).to.equal(0);
    expect(openFdCount()).to.equal(before);
  });

  it('closes the descriptors of paths not asked for; a file removed and made again is read from the new file', function () {
    const kept = new KeptFiles();
    const before = openFdCount();
    kept.read([f('a'), f('b'), f('c')]);
    kept.read([f('a'), f('b'), f('c')]);
    expect(openFdCount() - before).to.equal(3);
    kept.read([f('a')]);
    expect(kept.size).to.equal(1);
    expect(openFdCount() - before).to.equal(1);
    rmSync(f('a'));
    writeFileSync(f('a'), 'a new file\n');
    expect(kept.read([f('a')])).to.deep.equal(['a new file\n']);
    rmSync(f('a'));
    expect(kept.read([f('a')])).to.deep.equal([ENOENT]);
    expect(kept.size).to.equal(0);
    expect(openFdCount()).to.equal(before);
    writeFileSync(f('a'), 'one\n');
    kept.close();
  });

  it("a process that exits: its stat fails (not the old text), and the descriptor is closed", async function () {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const stat = `/proc/${child.pid}/stat`;
    const kept = new KeptFiles();
    const before = openFdCount();
    try {
      kept.read([stat]);
      const [text] = kept.read([stat]);
      expect(String(text)).to.match(new RegExp(`^${child.pid} \\(sleep\\) `));
      expect(openFdCount() - before).to.equal(1);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    // reaped: the kept descriptor reads ESRCH, the path is gone (ENOENT) on the fresh open
    const [after] = kept.read([stat]);
    expect(after).to.be.a('number');
    expect(kept.size).to.equal(0);
    expect(openFdCount()).to.equal(before);
  });

  it('oneRecord: a kept procfs file is read in one system call instead of two (this thread\'s syscr), its text the same', function () {
    const paths = ['/proc/self/stat', '/proc/self/statm', '/proc/self/status', '/proc/self/cgroup'];
    /** read system calls of this thread so far (reading /proc/thread-self/io costs some itself) */
    const syscr = () => Number(/^syscr: (\d+)$/m.exec(readFileSync('/proc/thread-self/io', 'utf8'))![1]);
    const readsOf = (kept: KeptFiles) => {
      kept.read(paths); // opens, reads and closes
      kept.read(paths); // opens and keeps (read to the end)
      const a = syscr();
      const b = syscr();
      const texts = kept.read(paths);
      const c = syscr();
      return { reads: c - b - (b - a), texts };
    };
    const one = new KeptFiles(undefined, true);
    const two = new KeptFiles();
    try {
      const r1 = readsOf(one);
      const r2 = readsOf(two);
      expect(r2.reads).to.equal(2 * paths.length);
      expect(r1.reads).to.equal(paths.length);
      // the same files whole: each ends its last line; stat's pid and field count, status's Name, cgroup's lines
      for (const r of [r1, r2]) for (const t of r.texts) expect(String(t).endsWith('\n')).to.equal(true);
      const [s1, s2] = [r1.texts[0], r2.texts[0]].map((t) => String(t).trim().split(' '));
      expect(s1![0]).to.equal(String(process.pid));
      expect(s1!.length).to.equal(s2!.length);
      expect(String(r1.texts[2]).split('\n')[0]).to.equal(String(r2.texts[2]).split('\n')[0]);
      expect(r1.texts[3]).to.equal(r2.texts[3]);
      expect(String(r1.texts[2]).split('\n').length).to.equal(String(r2.texts[2]).split('\n').length);
    } finally {
      one.close();
      two.close();
    }
  });

  it('keeps no descriptor for a path asked only every other read (an idle group\'s files): each read opens, reads and closes it', function () {
    for (const [name, text] of [['a', 'one\n'], ['b', 'two\n'], ['c', 'three\n']] as const) writeFileSync(f(name), text);
    const kept = new KeptFiles(undefined, true);
    const before = openFdCount();
    for (let i = 0; i < 4; i++) {
      const paths = i % 2 === 0 ? [f('a'), f('b')] : [f('a'), f('c')];
      expect(kept.read(paths)).to.deep.equal(i % 2 === 0 ? ['one\n', 'two\n'] : ['one\n', 'three\n']);
      // a from the second read on; b and c never
      expect(kept.size).to.equal(i === 0 ? 0 : 1);
      expect(openFdCount() - before).to.equal(kept.size);
    }
    kept.close();
    expect(openFdCount()).to.equal(before);
  });

  it('oneRecord: a file opened and not kept is read with one system call where the read came back short (this thread\'s syscr)', function () {
    for (const [name, text] of [['a', 'one\n'], ['b', 'two\n']] as const) writeFileSync(f(name), text);
    const paths = ['/proc/self/stat', '/proc/self/statm', f('a'), f('b')];
    const syscr = () => Number(/^syscr: (\d+)$/m.exec(readFileSync('/proc/thread-self/io', 'utf8'))![1]);
    const readsOf = (kept: KeptFiles) => {
      const a = syscr();
      const b = syscr();
      const texts = kept.read(paths);
      const c = syscr();
      expect(kept.size).to.equal(0);
      return { reads: c - b - (b - a), texts };
    };
    const one = readsOf(new KeptFiles(undefined, true));
    const two = readsOf(new KeptFiles());
    expect(two.reads).to.equal(2 * paths.length);
    expect(one.reads).to.equal(paths.length);
    expect(one.texts.slice(2)).to.deep.equal(['one\n', 'two\n']).and.deep.equal(two.texts.slice(2));
    expect(String(one.texts[0]).split(' ')[0]).to.equal(String(process.pid));
    expect(String(one.texts[1])).to.match(/^\d+( \d+){6}\n$/);
  });

  it('keeps at most `max` descriptors; the other files are still read', function () {
    for (const [name, text] of [['a', 'one\n'], ['b', 'two\n'], ['c', 'three\n']] as const) writeFileSync(f(name), text);
    const kept = new KeptFiles(2);
    const before = openFdCount();
    expect(kept.read([f('a'), f('b'), f('c')])).to.deep.equal(['one\n', 'two\n', 'three\n']);
    expect(kept.read([f('a'), f('b'), f('c')])).to.deep.equal(['one\n', 'two\n', 'three\n']);
    expect(kept.size).to.equal(2);
    expect(openFdCount() - before).to.equal(2);
    expect(kept.read([f('c'), f('b'), f('a')])).to.deep.equal(['three\n', 'two\n', 'one\n']);
    expect(kept.size).to.equal(2);
    kept.close();
    expect(openFdCount()).to.equal(before);
  });
});

describe('listDirs', function () {
  let dir = '';
  before(function () {
    if (!listDirsAvailable()) skip(this, 'the addon is not built (or built without listDirs)');
    dir = mkdtempSync(join(tmpdir(), 'perfwatch-listdirs-'));
    for (const d of ['b/x/y', 'a', 'b/w', 'c.scope']) mkdirSync(join(dir, d), { recursive: true });
    for (const f of ['cpu.stat', 'b/cpu.stat', 'b/x/memory.stat']) writeFileSync(join(dir, f), '');
    symlinkSync(join(dir, 'b'), join(dir, 'link'));
  });
  after(function () {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('every directory below the root, sorted, files and symlinks left out', function () {
    expect(listDirs(dir)).to.deep.equal(['/a', '/b', '/b/w', '/b/x', '/b/x/y', '/c.scope']);
  });

  it('a root that is not there: none', function () {
    expect(listDirs(join(dir, 'gone'))).to.deep.equal([]);
  });

  it("a directory that cannot be listed: an Error with the errno's code and the path", function () {
    if (process.getuid?.() === 0) skip(this, 'root lists every directory');
    chmodSync(join(dir, 'a'), 0);
    try {
      expect(() => listDirs(dir)).to.throw(/opendir: .*\/a$/).with.property('code', 'EACCES');
    } finally {
      chmodSync(join(dir, 'a'), 0o755);
    }
  });
});
