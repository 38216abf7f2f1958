/**
 * exporter/src/pg-stream.ts: loaded before pg, it keeps pg's runtime probe from loading Node's
 * fetch implementation (undici, ~4 MB of the exporter's RSS), and pg still connects and queries.
 * Each case runs in a child process of its own (what a process has loaded cannot be unloaded).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testServer } from '../../store/test/helpers.js';

const SHIM = fileURLToPath(new URL('../src/pg-stream.ts', import.meta.url));

/** Runs a child that (with the shim first, or not) loads pg, queries, and says whether undici was loaded. */
function child(url: string, withShim: boolean): { undici: boolean; rows: unknown } {
  const script = `
    ${withShim ? `await import(${JSON.stringify(SHIM)});` : ''}
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: ${JSON.stringify(url)} });
    await c.connect();
    const r = await c.query('SELECT 41 + 1 AS answer');
    await c.end();
    console.log(JSON.stringify({ undici: process.moduleLoadList.some((m) => m.includes('undici')), rows: r.rows }));`;
  const out = execFileSync(process.execPath, ['--conditions=perfwatch-src', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('..', import.meta.url)) });
  return JSON.parse(out.trim().split('\n').pop()!) as { undici: boolean; rows: unknown };
}

describe('pg without its fetch probe (pg-stream.ts)', function () {
  this.timeout(60_000);

  it('pg loaded after it does not load undici, and still connects and queries; without it pg does', async () => {
    const server = await testServer();
    expect(child(server.url, true)).to.deep.equal({ undici: false, rows: [{ answer: 42 }] });
    // the control: the same child without the shim (Node 20: pg's probe touches Response)
    const plain = child(server.url, false);
    expect(plain.rows).to.deep.equal([{ answer: 42 }]);
    if (Number(process.versions.node.split('.')[0]) < 21) expect(plain.undici).to.equal(true);
  });
});
