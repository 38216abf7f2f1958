// The fast paths of the hot parsers (procfs/util.ts decimalAt and the scans beside each parser)
// against the line-by-line parses they stand in for: over real samples and thousands of mutations
// of them (a character replaced, inserted or removed, a line doubled, the text cut), the parser
// gives the same value or throws the same error (file, line, message) as the reference.
import { expect } from 'chai';
import { parseFlatKeyed, parseFlatKeyedLines, parseIoStat, parseIoStatLines, parseSingleValue, parseSingleValueLines, pickFlatKeyed } from '../../src/procfs/cgroup.js';
import { ParseError } from '../../src/procfs/errors.js';
import { parsePidIo, parsePidIoLines } from '../../src/procfs/pid_io.js';
import { parsePidStat, parsePidStatLine } from '../../src/procfs/pid_stat.js';
import { parsePidStatus, parsePidStatusLines } from '../../src/procfs/pid_status.js';
import { parsePressure, parsePressureLines } from '../../src/procfs/pressure.js';
import { decimalAt, parseNumber } from '../../src/procfs/util.js';
// mulberry32: deterministic, so a failure can be reproduced
import { rng } from '../../../store/test/synth.js';

const FILE = '/f';
const MUTATIONS = 1500;
const CHARS = [' ', ' ', '\t', '\n', '\n', '\0', '=', ':', '-', '.', '0', '1', '9', 'a', 'k', 'B', 'Z', '_', '(', ')', 'e', '+', '\r', '\u00a0', 'é', 'x'];

function mutate(text: string, r: () => number): string {
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * (text.length + 1));
    const c = CHARS[Math.floor(r() * CHARS.length)]!;
    const op = Math.floor(r() * 6);
    if (op === 0) text = text.slice(0, at) + c + text.slice(at + 1);
    else if (op === 1) text = text.slice(0, at) + c + text.slice(at);
    else if (op === 2) text = text.slice(0, at) + text.slice(at + 1);
    else if (op === 3) text = text.slice(0, at);
    else if (op === 4) {
      const lines = text.split('\n');
      const i = Math.floor(r() * lines.length);
      lines.splice(i, 0, lines[i]!);
      text = lines.join('\n');
    } else text = text.slice(0, at) + String(Math.floor(r() * 1e6)) + text.slice(at);
  }
  return text;
}

/** What a parse gives: its value (Maps as their entries, in order) or its error. */
function outcome(parse: (text: string, file: string) => unknown, text: string): unknown {
  try {
    const v = parse(text, FILE);
    return { value: v instanceof Map ? [...v] : v };
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    return { error: err.message, line: err.line };
  }
}

function same(name: string, fast: (text: string, file: string) => unknown, ref: (text: string, file: string) => unknown, samples: string[]): void {
  it(`${name}: the same values and errors as the line-by-line parse, over ${samples.length} samples and ${MUTATIONS} mutations of each`, () => {
    let taken = 0;
    samples.forEach((sample, k) => {
      const r = rng(1000 + k);
      expect(outcome(fast, sample), `sample ${JSON.stringify(sample)}`).to.deep.equal(outcome(ref, sample));
      for (let i = 0; i < MUTATIONS; i++) {
        const text = mutate(sample, r);
        const want = outcome(ref, text);
        expect(outcome(fast, text), JSON.stringify(text)).to.deep.equal(want);
        if ('value' in (want as object)) taken++;
      }
    });
    // the mutations reach both the values and the errors
    expect(taken).to.be.within(samples.length * 10, samples.length * MUTATIONS - 10);
  });
}

describe('procfs fast paths', () => {
  it('decimalAt reads what parseNumber reads, NaN where it throws', () => {
    const tokens = ['0', '-0', '7', '007', '-12', '0.12', '29.19', '-.5', '1.', '.5', '1e3', '0x1f', 'Infinity', '', '-', '+1', '1.2.3', '12 ', ' 12',
      '123456789012345', '1234567890123456', '18446744073709551615', '123456789012345678901', '9223372036854771712', '0.000000001', '0.0000000001', '99999999999.999999', '١٢'];
    for (const t of tokens) {
      let want: number;
      try {
        want = parseNumber(t, FILE, 1);
      } catch {
        want = NaN;
      }
      expect(Object.is(decimalAt(`x${t}y`, 1, t.length + 1), want), t).to.equal(true);
    }
    const r = rng(7);
    for (let i = 0; i < 20000; i++) {
      const t = `${r() < 0.2 ? '-' : ''}${String(Math.floor(r() * 10 ** Math.floor(r() * 16)))}${r() < 0.5 ? `.${String(Math.floor(r() * 1e9)).slice(0, 1 + Math.floor(r() * 9))}` : ''}`;
      expect(Object.is(decimalAt(t, 0, t.length), parseNumber(t, FILE, 1)), t).to.equal(true);
    }
  });

  const memStat = ['anon 12582912', 'file 8388608', 'kernel 3149824', 'kernel_stack 131072', 'shmem 65536', 'file_mapped 2796202', 'file_dirty 4096', 'file_writeback 0', 'inactive_file 4194304', 'pgfault 20000', 'pgmajfault 12', 'hierarchical_memory_limit 9223372036854771712']
    .join('\n') + '\n';
  const cpuStat = 'usage_usec 2079012\nuser_usec 1501000\nsystem_usec 578012\ncore_sched.force_idle_usec 0\nnr_periods 120\nnr_throttled 7\nthrottled_usec 93312\n';
  same('parseFlatKeyed', parseFlatKeyed, parseFlatKeyedLines, [cpuStat, memStat, 'oom -1\n']);
  const keys = ['anon', 'file', 'pgfault', 'usage_usec', 'nr_throttled', 'oom', 'nothere'];
  same('pickFlatKeyed', (t, f) => pickFlatKeyed(t, f, keys), (t, f) => {
    const m = parseFlatKeyedLines(t, f);
    return keys.map((k) => m.get(k));
  }, [cpuStat, memStat]);
  same('parseSingleValue', parseSingleValue, parseSingleValueLines, ['536870912\n', 'max\n', '9223372036854771712\n', '0\n']);
  same('parseIoStat', parseIoStat, parseIoStatLines, [
    '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n259:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6\n',
    '8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0 cost.vrate=100.00 depth=1 avg_lat=5\n',
    '',
  ]);
  same('parsePressure', parsePressure, parsePressureLines, [
    'some avg10=0.00 avg60=0.04 avg300=0.49 total=4950844\nfull avg10=0.00 avg60=0.04 avg300=0.44 total=4380960\n',
    'some avg10=29.19 avg60=7.84 avg300=3.22 total=17344674\n',
  ]);
  const tail = '4184 4184 22089 0 -1 4194560 5153 0 0 0 712 93 0 0 20 0 11 0 184110 1151967232 12345 18446744073709551615 1 1 0 0 0 0 0 4096 134234626 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n';
  same('parsePidStat', parsePidStat, parsePidStatLine, [`4242 (node) S ${tail}`, `4242 (tmux: a) b) R ${tail}`, '2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 1 0 0 20 0 1 0 2 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n']);
  same('parsePidIo', parsePidIo, parsePidIoLines, ['rchar: 6976\nwchar: 12\nsyscr: 10\nsyscw: 1\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n']);
  same('parsePidStatus', parsePidStatus, parsePidStatusLines, [
    'Name:\tnode\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t 1151968 kB\nVmRSS:\t   49380 kB\nRssAnon:\t   30000 kB\nRssFile:\t   19380 kB\nHugetlbPages:\t       0 kB\nVmSwap:\t       0 kB\nThreads:\t11\nCpus_allowed_list:\t0-1\n',
    'Name:\tkthreadd\nState:\tS (sleeping)\nThreads:\t1\n',
  ]);
});
