/**
 * readControlFiles: through the native addon where it is built, else file by file through node:fs
 * (readControlFilesFs); both give each file's text or errno, the same for every case the
 * collectors meet (a missing file, a directory, an empty file, one larger than the 64 KiB buffer).
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFilesAvailable } from '@perfwatch/native';
import { ParseError } from '../../src/procfs/errors.js';
import { controlFileError, errnoCode, readControlFile, readControlFiles, readControlFilesFs } from '../../src/procfs/read_small.js';

describe('procfs/read_small', () => {
  let dir = '';
  let paths: string[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'perfwatch-readsmall-'));
    writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 1\n');
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'big'), `${'y'.repeat(200_000)}\n`);
    writeFileSync(join(dir, 'comm'), '1 (ünï) S\n');
    mkdirSync(join(dir, 'sub'));
    paths = ['cpu.stat', 'missing', 'sub', 'empty', 'big', 'comm', 'cpu.stat/x'].map((f) => join(dir, f));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('node:fs: text or errno per file', () => {
    const r = readControlFilesFs(paths);
    expect(r.map((t) => (typeof t === 'number' ? errnoCode(t) : t.length))).to.deep.equal([13, 'ENOENT', 'EISDIR', 0, 200_001, 10, 'ENOTDIR']);
  });

  it('the native batch gives the same as node:fs', function () {
    if (!readFilesAvailable()) this.skip();
    expect(readControlFiles(paths)).to.deep.equal(readControlFilesFs(paths));
  });

  it('controlFileError: a ParseError naming a directory, else Node\'s shape with the code', () => {
    const d = controlFileError(join(dir, 'sub'), 21);
    expect(d).to.be.instanceOf(ParseError);
    expect(d.message).to.equal(`${join(dir, 'sub')}: a directory, not the kernel file`);
    const e = controlFileError(join(dir, 'missing'), 2) as NodeJS.ErrnoException;
    expect(e).to.include({ code: 'ENOENT', errno: -2, path: join(dir, 'missing') });
    expect(() => readControlFile(join(dir, 'missing'))).to.throw().with.property('code', 'ENOENT');
    expect(() => readControlFile(join(dir, 'sub'))).to.throw(ParseError);
  });
});
