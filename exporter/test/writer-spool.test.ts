import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Spool } from '../src/spool.js';

interface Rec {
  i: number;
  pad: string;
}

const rec = (i: number, size = 100): Rec => ({ i, pad: 'x'.repeat(size) });

async function drain<T>(spool: Spool<T>, max = 7): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    const b = await spool.read(max);
    if (!b) return out;
    out.push(...b.records);
    await spool.ack(b);
  }
}

function segments(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();
}

describe('spool', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'perfwatch-spool-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives records back in order, across segments, and deletes what was acknowledged', async () => {
    const s = await Spool.open<Rec>({ dir, maxBytes: 1024 * 1024, segmentBytes: 2048 });
    for (let i = 0; i < 100; i += 10) await s.append(Array.from({ length: 10 }, (_, k) => rec(i + k)));
    expect(s.pending).to.equal(100);
    expect(segments(dir).length).to.be.greaterThan(3);
    const out = await drain(s);
    expect(out.map((r) => r.i)).to.deep.equal(Array.from({ length: 100 }, (_, i) => i));
    expect(s.pending).to.equal(0);
    expect(segments(dir).length).to.be.at.most(1);
    expect(await s.read(10)).to.equal(undefined);
    await s.close();
  });

  it('a record is not gone until acknowledged: an unacknowledged read comes back', async () => {
    const s = await Spool.open<Rec>({ dir, maxBytes: 1024 * 1024 });
    await s.append([rec(1), rec(2), rec(3)]);
    const a = await s.read(2);
    const b = await s.read(2);
    expect(b!.records.map((r) => r.i)).to.deep.equal(a!.records.map((r) => r.i));
    await s.ack(a!);
    expect((await s.read(5))!.records.map((r) => r.i)).to.deep.equal([3]);
    await s.close();
  });

  it('survives a restart: pending records and the acknowledged position', async () => {
    let s = await Spool.open<Rec>({ dir, maxBytes: 1024 * 1024, segmentBytes: 4096 });
    await s.append(Array.from({ length: 50 }, (_, i) => rec(i)));
    const first = await s.read(20);
    await s.ack(first!);
    await s.close();

    s = await Spool.open<Rec>({ dir, maxBytes: 1024 * 1024, segmentBytes: 4096 });
    expect(s.pending).to.equal(30);
    await s.append([rec(50), rec(51)]);
    const out = await drain(s);
    expect(out.map((r) => r.i)).to.deep.equal(Array.from({ length: 32 }, (_, i) => i + 20));
    await s.close();
  });

  it('stays within maxBytes, dropping the oldest and counting them', async () => {
    const maxBytes = 64 * 1024;
    const s = await Spool.open<Rec>({ dir, maxBytes, segmentBytes: 4096 });
    for (let i = 0; i < 300; i++) await s.append([rec(i, 500)]);
    const st = s.stats();
    expect(st.bytes).to.be.at.most(maxBytes);
    const onDisk = segments(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(onDisk).to.equal(st.bytes);
    expect(st.appendedTotal).to.equal(300);
    expect(st.droppedTotal + st.pending).to.equal(300);
    expect(st.droppedTotal).to.be.greaterThan(0);
    // What is left is the newest records, contiguous and in order.
    const out = (await drain(s)).map((r) => r.i);
    expect(out).to.deep.equal(Array.from({ length: out.length }, (_, k) => 300 - out.length + k));
    await s.close();
  });

  it('does not count records being written (read, not yet acknowledged) as dropped', async () => {
    const s = await Spool.open<Rec>({ dir, maxBytes: 64 * 1024, segmentBytes: 4096 });
    for (let i = 0; i < 20; i++) await s.append([rec(i, 500)]);
    const inflight = await s.read(3);
    expect(inflight!.records.map((r) => r.i)).to.deep.equal([0, 1, 2]);
    for (let i = 20; i < 300; i++) await s.append([rec(i, 500)]);
    await s.ack(inflight!); // its segment is gone: a no-op
    const st = s.stats();
    expect(st.droppedTotal + st.pending + 3).to.equal(300);
    await s.close();
  });

  it('skips a torn write (kill -9 mid-append) and never appends after it', async () => {
    let s = await Spool.open<Rec>({ dir, maxBytes: 1024 * 1024 });
    await s.append(Array.from({ length: 10 }, (_, i) => rec(i)));
    await s.close();
    // A crash in the middle of the 11th record: its first half only, no newline.
    const seg = join(dir, segments(dir).at(-1)!);
    const line = readFileSync(seg, 'utf8').split('\n')[0]!;
    appendFileSync(seg, line.replace('"i":0', '"i":10').slice(0, 60));

    s = await Spool.open<Rec>({ dir, maxBytes: 1024 * 1024 });
    expect(s.stats().corruptTotal).to.equal(1);
    expect(s.pending).to.equal(10);
    await s.append([rec(11)]);
    expect(segments(dir)).to.have.length(2);
    const out = await drain(s);
    expect(out.map((r) => r.i)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
    await s.close();
  });

  it('skips a record whose checksum does not match (a damaged byte) and keeps the rest', async () => {
    let s = await Spool.open<Rec>({ dir, maxBytes: 1024 * 1024 });
    await s.append([rec(0), rec(1), rec(2)]);
    await s.close();
    const seg = join(dir, segments(dir)[0]!);
    const text = readFileSync(seg, 'utf8');
    writeFileSync(seg, text.replace('"i":1', '"i":7'));
    s = await Spool.open<Rec>({ dir, maxBytes: 1024 * 1024 });
    expect(s.stats().corruptTotal).to.equal(1);
    expect((await drain(s)).map((r) => r.i)).to.deep.equal([0, 2]);
    await s.close();
  });

  it('a segment cut anywhere gives back exactly the complete records before the cut', async () => {
    const s0 = await Spool.open<Rec>({ dir, maxBytes: 1024 * 1024 });
    await s0.append(Array.from({ length: 5 }, (_, i) => rec(i, 20)));
    await s0.close();
    const seg = join(dir, segments(dir)[0]!);
    const full = readFileSync(seg);
    const ends: number[] = [];
    full.forEach((b, i) => b === 0x0a && ends.push(i + 1));
    for (let cut = 1; cut < full.length; cut += 7) {
      writeFileSync(seg, full.subarray(0, cut));
      rmSync(join(dir, 'cursor.json'), { force: true });
      const s = await Spool.open<Rec>({ dir, maxBytes: 1024 * 1024 });
      const complete = ends.filter((e) => e <= cut).length;
      expect(s.pending, `cut at ${cut}`).to.equal(complete);
      const out = await drain(s);
      expect(out.map((r) => r.i)).to.deep.equal(Array.from({ length: complete }, (_, i) => i));
      await s.close();
      // drain() deleted the segment once it was fully read: put it back for the next cut
      writeFileSync(seg, full);
    }
  });

  it('reads a record larger than its read buffer', async () => {
    const s = await Spool.open<Rec>({ dir, maxBytes: 64 * 1024 * 1024 });
    await s.append([rec(0, 10), rec(1, 3 * 1024 * 1024), rec(2, 10)]);
    const out = await drain(s, 10);
    expect(out.map((r) => [r.i, r.pad.length])).to.deep.equal([
      [0, 10],
      [1, 3 * 1024 * 1024],
      [2, 10],
    ]);
    await s.close();
  });

  it('kill -9 of a process appending: every acknowledged record survives, in order, nothing partial', async function () {
    this.timeout(60_000);
    const spoolUrl = new URL('../src/spool.ts', import.meta.url).href;
    const child = spawn(
      process.execPath,
      [
        '--conditions=perfwatch-src',
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { Spool } = await import(${JSON.stringify(spoolUrl)});
         const s = await Spool.open({ dir: ${JSON.stringify(dir)}, maxBytes: 512 * 1024 * 1024 });
         for (let i = 0; ; i += 50) {
           await s.append(Array.from({ length: 50 }, (_, k) => ({ i: i + k, pad: 'y'.repeat(2000) })));
           process.stdout.write('ACK ' + (i + 50) + '\\n');
         }`,
      ],
      { cwd: fileURLToPath(new URL('../../', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let acked = 0;
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = [...out.matchAll(/ACK (\d+)\n/g)].at(-1);
      if (m) acked = Number(m[1]);
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    const start = Date.now();
    while (acked < 2000 && Date.now() - start < 30_000) await new Promise((r) => setTimeout(r, 20));
    expect(acked, `child stderr: ${err}`).to.be.greaterThan(0);
    child.kill('SIGKILL');
    await exited;
    const ackedAtKill = acked;

    const s = await Spool.open<Rec>({ dir, maxBytes: 512 * 1024 * 1024 });
    const got = await drain(s, 500);
    const ids = got.map((r) => r.i);
    // In order, from 0, without gaps: the acknowledged ones at least, maybe a few not yet acknowledged.
    expect(ids.length).to.be.at.least(ackedAtKill);
    expect(ids).to.deep.equal(Array.from({ length: ids.length }, (_, i) => i));
    for (const r of got) expect(r.pad).to.equal('y'.repeat(2000));
    expect(s.stats().corruptTotal).to.be.at.most(1);
    await s.close();
  });

  it('refuses a bound too small to be useful', async () => {
    const err = await Spool.open({ dir, maxBytes: 1000 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RangeError);
  });

  it('keeps only the newest records of one append larger than the whole bound', async () => {
    const s = await Spool.open<Rec>({ dir, maxBytes: 64 * 1024, segmentBytes: 4096 });
    await s.append(Array.from({ length: 200 }, (_, i) => rec(i, 500)));
    const st = s.stats();
    expect(st.bytes).to.be.at.most(64 * 1024);
    expect(st.droppedTotal + st.pending).to.equal(200);
    const out = (await drain(s, 500)).map((r) => r.i);
    expect(out.at(-1)).to.equal(199);
    await s.close();
  });
});
