/** readFiles (src/files.cc): many small files in one call, each whole, or its errno. */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';

import { listDirs, listDirsAvailable, openFdCount, readFiles, readFilesAvailable } from '../lib/index.js';
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
