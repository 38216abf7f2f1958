/**
 * A real low RLIMIT_NOFILE: a child node limited with prlimit (or `ulimit -n` in bash) asks for
 * 64 events. The budget check refuses up front and names the limit; opening anyway fails with
 * reason 'too many open files' naming the limit and the fds needed, and leaves no fd behind.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { nativeStatus } from '../lib/index.js';
import { haveCommand, LIB_URL, runTs, skip } from './helpers.js';

// Node plus the tsx loader hold about 30 fds, so 64 leaves room to start and not room for 64 events.
const LIMIT = 64;
const EVENTS = 64;

interface Out {
  budget: { ok: boolean; reason?: string; message?: string };
  open: { ok: boolean; reason?: string; message?: string; errno?: string };
  fdsBefore: number;
  fdsAfter: number;
  limit: { soft: number; hard: number };
}

describe('fd limit', function () {
  this.timeout(60_000);
  let dir = '';

  before(function () {
    const s = nativeStatus();
    if (!s.available) skip(this, s.reason);
    dir = mkdtempSync(join(tmpdir(), 'perfwatch-fdlimit-'));
    writeFileSync(
      join(dir, 'open64.mts'),
      `import { readdirSync, readlinkSync } from 'node:fs';
import { checkFdBudget, fdLimit, fdsNeeded, tryOpenGroup } from ${JSON.stringify(LIB_URL)};
// perf_event fds only: the loader's and libuv's own threads may open other fds meanwhile.
const perfFds = () => readdirSync('/proc/self/fd').filter((fd) => { try { return readlinkSync('/proc/self/fd/' + fd) === 'anon_inode:[perf_event]'; } catch { return false; } }).length;
const events = Array.from({ length: ${EVENTS} }, (_, i) => ({ name: 'task-clock-' + i, type: 1, config: 1, kind: 'software' as const }));
const check = checkFdBudget(fdsNeeded({ events, cpus: 1 }), { reserve: 0 });
const fdsBefore = perfFds();
const r = tryOpenGroup({ events, target: { cpu: 0 } });
const fdsAfter = perfFds();
console.log(JSON.stringify({
  budget: { ok: check.ok, reason: check.error?.reason, message: check.error?.message },
  open: r.ok ? { ok: true } : { ok: false, reason: r.error.reason, message: r.error.message, errno: r.error.errno },
  fdsBefore, fdsAfter, limit: fdLimit(),
}));
`,
    );
  });

  after(function () {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it(`with RLIMIT_NOFILE ${LIMIT}, ${EVENTS} events are refused as "too many open files" naming the limit`, function () {
    const prefix = haveCommand('prlimit') ? ['prlimit', `--nofile=${LIMIT}:${LIMIT}`] : ['bash', '-c', `ulimit -n ${LIMIT} && exec "$@"`, 'bash'];
    const r = runTs(join(dir, 'open64.mts'), prefix);
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Out;
    expect(out.limit).to.deep.equal({ soft: LIMIT, hard: LIMIT });

    expect(out.budget.ok).to.equal(false);
    expect(out.budget.reason).to.equal('too many open files');
    expect(out.budget.message).to.contain(`need ${EVENTS} fds`).and.contain(`RLIMIT_NOFILE soft limit is ${LIMIT}`);

    expect(out.open.ok).to.equal(false);
    expect(out.open).to.include({ reason: 'too many open files', errno: 'EMFILE' });
    expect(out.open.message).to.contain(`needed ${EVENTS} fds`).and.contain(`RLIMIT_NOFILE soft limit is ${LIMIT}`);
    expect(out.fdsAfter, 'the partly opened group was closed: no perf_event fd left').to.equal(out.fdsBefore);
  });
});
