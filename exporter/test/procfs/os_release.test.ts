import { expect } from 'chai';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOsRelease, readOsRelease } from '../../src/procfs/os_release.js';
import { itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/etc/os-release';

const cases: Case<Record<string, string>>[] = [
  {
    name: 'Debian: quoted and bare values',
    input: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n',
    expect: { PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)', NAME: 'Debian GNU/Linux', VERSION_ID: '12', VERSION_CODENAME: 'bookworm', ID: 'debian' },
  },
  {
    name: 'comments, blank lines, single quotes and escapes',
    input: '# written by hand\n\nNAME=\'Fedora Linux\'\nVARIANT="Server \\"Edition\\""\nID_LIKE=""\n',
    expect: { NAME: 'Fedora Linux', VARIANT: 'Server "Edition"', ID_LIKE: '' },
  },
  { name: 'empty file (error)', input: '', error: { line: 1, contains: 'no assignments' } },
  { name: 'a line without =', input: 'NAME=x\nnonsense\n', error: { line: 2, contains: 'KEY=value' } },
  { name: 'lower-case key', input: 'name=x\n', error: { line: 1, contains: 'KEY=value' } },
  { name: 'unterminated quote', input: 'NAME="Ubuntu\n', error: { line: 1, contains: 'unterminated' } },
  { name: 'unquoted value with a space', input: 'NAME=Arch Linux\n', error: { line: 1, contains: 'shell characters' } },
  // written by people, not the kernel: an editor may leave the last newline out
  { name: 'no newline after the last line (accepted)', input: 'ID=debian\nVERSION_ID="12"', expect: { ID: 'debian', VERSION_ID: '12' } },
];

const SAMPLE = 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n';

describe('procfs/os_release', () => {
  runTable(FILE, (t) => parseOsRelease(t, FILE), cases);
  // every malformed case but the cut-short last line, which os-release may legitimately have
  runTable(
    FILE,
    (t) => parseOsRelease(t, FILE),
    [
      ...malformedCases<Record<string, string>>(SAMPLE).filter((c) => !c.name.includes('cut short')),
      { name: 'malformed: a 4 KiB+ line', input: `ID=${'x'.repeat(5000)}\n`, error: { line: 1, contains: 'line of 5003 characters' } },
    ],
  );
  itRejectsDirectory(readOsRelease, 'etc/os-release');

  it('reader: falls back to usr/lib/os-release, and ENOENT when neither exists', () => {
    const root = mkdtempSync(join(tmpdir(), 'pw-os-'));
    expect(() => readOsRelease(root)).to.throw().with.property('code', 'ENOENT');
    mkdirSync(join(root, 'usr/lib'), { recursive: true });
    writeFileSync(join(root, 'usr/lib/os-release'), 'ID=alpine\n');
    expect(readOsRelease(root)).to.deep.equal({ ID: 'alpine' });
  });
});
