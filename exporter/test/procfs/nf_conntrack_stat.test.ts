import { parseNfConntrackStat, readNfConntrackStat } from '../../src/procfs/nf_conntrack_stat.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/net/stat/nf_conntrack';
const H6 = 'entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n';
const H5 = 'entries  searched found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n';
const row = (vals: number[]) => `${vals.map((v) => v.toString(16).padStart(8, '0')).join(' ')}\n`;

const cases: Case<Record<string, number>>[] = [
  {
    name: '6.x columns: summed over CPUs, entries once',
    input: H6 + row([33, 0, 5, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 7]) + row([33, 1, 10, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
    expect: { entries: 33, clashres: 1, found: 15, new: 0, invalid: 5, ignore: 0, delete: 0, chainlength: 0, insert: 0, insert_failed: 0, drop: 1, early_drop: 0, icmp_error: 0, expect_new: 0, expect_create: 0, expect_delete: 0, search_restart: 8 },
  },
  {
    name: '5.x columns (searched, delete_list) are read by name',
    input: H5 + row([1, 9, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    expect: { entries: 1, searched: 9, found: 2, new: 0, invalid: 0, ignore: 0, delete: 0, delete_list: 0, insert: 0, insert_failed: 0, drop: 0, early_drop: 0, icmp_error: 0, expect_new: 0, expect_create: 0, expect_delete: 0, search_restart: 0 },
  },
  { name: 'empty file (error)', input: '', error: { line: 1, contains: 'empty' } },
  { name: 'header only (error: a line per CPU)', input: H6, error: { line: 1, contains: 'no CPU lines' } },
  { name: 'no header', input: row([1, 2]), error: { line: 1, contains: 'header' } },
  { name: 'a short line', input: `${H6}00000001 00000002\n`, error: { line: 2, contains: 'expected 17 columns, got 2' } },
  { name: 'decimal where hex belongs', input: H6 + row(Array(16).fill(0)).replace(/\n$/, ' 12\n'), error: { line: 2, contains: '"12"' } },
];

describe('procfs/nf_conntrack_stat', () => {
  runTable(FILE, (t) => parseNfConntrackStat(t, FILE), cases);
  itPropagatesEnoent(readNfConntrackStat);
  // the values are hex, so NaN where one belongs is caught as "not an 8-digit hex value"
  runTable(FILE, (t) => parseNfConntrackStat(t, FILE), [
    ...malformedCases<Record<string, number>>(H6 + row(Array(17).fill(3)) + row(Array(17).fill(4))),
    { name: 'malformed: NaN where a number belongs', input: H6 + row(Array(16).fill(0)).replace(/\n$/, ' NaN\n'), error: { line: 2, contains: '"NaN"' } },
    { name: 'malformed: a CPU line cut short at a line boundary has too few columns', input: `${H6}${row(Array(17).fill(3)).slice(0, 40)}\n`, error: { line: 2, contains: 'expected 17 columns' } },
  ]);
  itRejectsDirectory(readNfConntrackStat, 'net/stat/nf_conntrack');
});
