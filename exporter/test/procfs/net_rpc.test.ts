import { expect } from 'chai';
import { parseRpcStats, readRpcStats, type RpcStats } from '../../src/procfs/net_rpc.js';
import { itPropagatesEnoent, itRejectsDirectory, malformedCases, runTable, type Case } from './table.js';

const FILE = '/proc/net/rpc/nfsd';

const cases: Case<RpcStats>[] = [
  {
    name: 'a 5.4 server: the ra line, a float histogram in th, proc4ops',
    input: 'rc 0 6 18622\nfh 0 0 0 0 0\nio 157286400 0\nth 8 0 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000\n'
      + 'ra 32 0 0 0 0 0 0 0 0 0 0 0\nnet 18628 0 18628 6\nrpc 18628 0 0 0 0\nproc3 22 2 112 0 2719 111 0 0 0 0 0 0 0 0 0 0 0 27 216 0 2 1 0\n'
      + 'proc4 2 2 10853\nproc4ops 5 0 0 0 1098 2\n',
    expect: {
      rc: [0, 6, 18622], fh: [0, 0, 0, 0, 0], io: [157286400, 0], th: [8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], ra: [32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      net: [18628, 0, 18628, 6], rpc: [18628, 0, 0, 0, 0], proc3: [2, 112, 0, 2719, 111, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 27, 216, 0, 2, 1, 0],
      proc4: [2, 10853], proc4ops: [0, 0, 0, 1098, 2],
    },
  },
  { name: 'a client with nothing mounted yet', input: 'net 0 0 0 0\nrpc 0 0 0\nproc3 22 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n', expect: { net: [0, 0, 0, 0], rpc: [0, 0, 0], proc3: Array(22).fill(0) } },
  { name: 'a line a newer kernel adds is kept', input: 'rpc 1 0 0 0 0\nwdeleg_getattr 7\n', expect: { rpc: [1, 0, 0, 0, 0], wdeleg_getattr: [7] } },
  { name: 'empty file (error)', input: '', error: { line: 1, contains: 'empty file' } },
  { name: 'no rpc line', input: 'net 0 0 0 0\n', error: { line: 1, contains: 'no rpc line' } },
  { name: 'a proc line whose count disagrees', input: 'rpc 0 0 0\nproc3 22 0 0 0\n', error: { line: 2, contains: 'proc3 says 22 values, has 3' } },
  { name: 'a non-numeric value names it', input: 'rpc 0 x 0\n', error: { line: 1, contains: '"x"' } },
  { name: 'a second rpc line', input: 'rpc 0 0 0\nrpc 0 0 0\n', error: { line: 2, contains: 'second rpc' } },
  { name: 'not a keyword', input: '42 0 0\n', error: { line: 1, contains: 'keyword' } },
];

describe('procfs/net_rpc (nfs, nfsd)', () => {
  runTable(FILE, (t) => parseRpcStats(t, FILE), cases);

  it('reader: the fixture server', () => {
    const st = readRpcStats(new URL('../fixtures/large/proc', import.meta.url).pathname, 'nfsd');
    expect(st.proc4ops).to.have.length(76);
    expect(st.th![0]).to.equal(16);
  });

  itPropagatesEnoent((root) => readRpcStats(root, 'nfs'));
  runTable(FILE, (t) => parseRpcStats(t, FILE), malformedCases('net 18628 0 18628 6\nrpc 18628 0 0 0 0\nproc4 2 2 10853\n', { nan: { input: 'net 0 0 0 0\nrpc 1 NaN 0\n', line: 2 } }));
  itRejectsDirectory((root) => readRpcStats(root, 'nfsd'), 'net/rpc/nfsd');
});
