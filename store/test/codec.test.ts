/**
 * The stored form of a snapshot (codec.ts): shape + values must give back the snapshot's JSON
 * exactly, number for number, and stay small.
 */
import { expect } from 'chai';
import { decodeSlots, decodeSnapshot, decodeValues, encodeSnapshot, parseShape, payloadLength, Slot, StoreError, type Snapshot } from '../src/index.js';
import { fixtureSnapshot, rng, simulate } from './synth.js';

function roundTrip(s: object, ts = 0): unknown {
  const e = encodeSnapshot(s);
  return decodeSnapshot(e.frags, e.vals, ts);
}

const jsonOf = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;

describe('snapshot codec', () => {
  it('gives back both fixture snapshots exactly, key order included', () => {
    for (const which of ['small', 'large'] as const) {
      const s = fixtureSnapshot(which);
      expect(JSON.stringify(roundTrip(s, s.ts))).to.equal(JSON.stringify(s));
    }
  });

  it('gives back a day of simulated snapshots exactly, with one shape', () => {
    const snaps = simulate(fixtureSnapshot('small'), 'web01', Date.UTC(2031, 2, 3), 2000);
    const hashes = new Set<string>();
    let known: { frags: readonly string[]; hash: string } | undefined;
    for (const s of snaps) {
      const e = encodeSnapshot(s, known);
      known = e;
      hashes.add(e.hash);
      expect(JSON.stringify(decodeSnapshot(e.frags, e.vals, s.ts))).to.equal(JSON.stringify(s));
    }
    expect(hashes.size).to.equal(1);
  });

  it('every double comes back bit for bit', () => {
    const nums = [
      0, 1, -1, 0.1, 0.1 + 0.2, 62345.11, -62345.11, 1e21, 1.5e-7, 5e-324, -5e-324, 1.7976931348623157e308, 2 ** 52, 2 ** 53, 2 ** 53 + 2,
      -(2 ** 53), 123456789012345, 0.049800000000000004, 0.00041287299990654, 1 / 3, Math.PI, 1e-300, 123e300, 35184372087808, 4.9e-7, 100, 1e15, 999999999999999.9,
    ];
    for (let i = 0; i < 2000; i++) nums.push((Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 40 - 20));
    const s = { v: 1, host: 'h', ts: 0, iv: 5, col: {}, mem: Object.fromEntries(nums.map((n, i) => [`n${i}`, n])) };
    const back = roundTrip(s) as typeof s;
    nums.forEach((n, i) => expect(Object.is(back.mem[`n${i}`], n), `${n}`).to.equal(true));
  });

  it('follows JSON: undefined members left out, NaN/Infinity null, -0 is 0, arrays keep holes as null', () => {
    const s = {
      v: 1, host: 'h', ts: 5, iv: 5, col: { cpu: { ok: true, s: 0.001, err: undefined } },
      odd: { nan: Number.NaN, inf: Infinity, neg0: -0, arr: [1, undefined, null, Number.NaN, 'x'], fn: () => 1 },
    };
    expect(roundTrip(s, 5)).to.deep.equal(jsonOf(s));
    expect(Object.is((roundTrip(s, 5) as { odd: { neg0: number } }).odd.neg0, 0)).to.equal(true);
  });

  it('strings, escapes, unicode and nesting are part of the shape', () => {
    const s = {
      v: 1, host: 'web "01"\\', ts: 1, iv: 5, col: {},
      fs: [{ dev: 'nfs:/x', mp: '/mnt/with space/ü/\u2028', type: 'nfs4', ro: true, err: 'statfs timed out after 1 s: "hung"' }],
      deep: { a: [[[1, [2, { b: [3] }]]]], '': 0, '1': 'one', '0': [] },
    };
    expect(JSON.stringify(roundTrip(s, 1))).to.equal(JSON.stringify(s));
  });

  it('the top-level ts comes from the row (one byte); a fractional ts is stored as a value', () => {
    const a = encodeSnapshot({ v: 1, host: 'h', ts: 1_900_000_000_123, iv: 5, col: {} });
    expect(a.vals.length).to.equal(5); // headers of ts, v, iv; one payload byte each for v and iv
    expect((decodeSnapshot(a.frags, a.vals, 1_900_000_000_123) as Snapshot).ts).to.equal(1_900_000_000_123);
    const b = encodeSnapshot({ v: 1, host: 'h', ts: 1_900_000_000_123.5, iv: 5, col: {} });
    expect((decodeSnapshot(b.frags, b.vals, 0) as Snapshot).ts).to.equal(1_900_000_000_123.5);
    expect(b.hash).to.equal(a.hash); // same shape: only the value of the ts slot differs
    expect(b.vals.length).to.be.greaterThan(a.vals.length);
  });

  it('refuses what JSON cannot hold', () => {
    expect(() => encodeSnapshot({ v: 1, big: 1n } as object)).to.throw(StoreError);
    expect(() => encodeSnapshot([] as unknown as object)).to.throw(StoreError);
  });

  it('a new disk, an error message or a null counter make a new shape; values alone never do', () => {
    const base = fixtureSnapshot('small', { compact: true });
    const h = (s: Snapshot) => encodeSnapshot(s).hash;
    const same = simulate(base, 'x', 0, 3);
    expect(new Set(same.map(h)).size).to.equal(1);
    expect(h({ ...base, disk: { ...base.disk, vdb: [1, 2, 3] } })).to.not.equal(h(base));
    expect(h({ ...base, col: { ...base.col, cpu: { ok: false, s: 0, err: 'EACCES' } } })).to.not.equal(h(base));
  });

  it('is compact: the 2-CPU snapshot in under 4.5 bytes per number (half of a float64), far below its JSON', () => {
    const snaps = simulate(fixtureSnapshot('small', { compact: true }), 'x', 0, 500);
    const avg = snaps.reduce((n, s) => n + encodeSnapshot(s).vals.length, 0) / snaps.length;
    // Number slots of the shape (frags sit between them). Counters and gauges that move a little
    // take 1-3 bytes; the collectors' durations, random floats, take the most (~8 each).
    const slots = encodeSnapshot(snaps[0]!).frags.length - 1;
    expect(slots).to.be.greaterThan(200);
    expect(avg / slots).to.be.below(4.5);
    expect(avg).to.be.below(JSON.stringify(snaps[0]).length / 4);
  });

  it('decodes part of a row (the first slots only) and marks every number slot in the parsed shape', () => {
    const s = fixtureSnapshot('small', { compact: true });
    const e = encodeSnapshot(s);
    const n = e.frags.length - 1;
    const all = decodeValues(e.vals, n, s.ts);
    const some = decodeValues(e.vals, n, s.ts, new Float64Array(n), 10);
    expect([...some.subarray(0, 10)]).to.deep.equal([...all.subarray(0, 10)]);
    let slots = 0;
    const walk = (x: unknown): void => {
      if (x instanceof Slot) slots++;
      else if (x && typeof x === 'object') Object.values(x).forEach(walk);
    };
    walk(parseShape(e.frags));
    expect(slots).to.equal(n);
  });

  it('parses a shape as a reviver would: every number a Slot of its index, key order kept, a member named __proto__ an own property', () => {
    const reviver = (frags: readonly string[]) => {
      let text = frags[0]!;
      for (let i = 1; i < frags.length; i++) text += String(i - 1) + frags[i]!;
      return JSON.parse(text, (_k, v: unknown) => (typeof v === 'number' ? new Slot(v) : v)) as unknown;
    };
    const s = fixtureSnapshot('small', { compact: true }) as unknown as Record<string, unknown>;
    // a disk named __proto__ (a label value like any other) and one in an array of objects
    const odd = { ...s, disk: { ...(s.disk as object), ['__proto__']: [1, 2, 3] }, extra: [{ ['__proto__']: 5, a: [1, { b: 2 }] }] };
    const withProto = JSON.parse(JSON.stringify(odd)) as Snapshot;
    for (const snap of [fixtureSnapshot('small', { compact: true }), fixtureSnapshot('small'), withProto]) {
      const frags = encodeSnapshot(snap).frags;
      const mine = parseShape(frags) as Record<string, unknown>;
      expect(mine).to.deep.equal(reviver(frags));
      expect(JSON.stringify(mine)).to.equal(JSON.stringify(reviver(frags)));
    }
    const parsed = parseShape(encodeSnapshot(withProto).frags) as { disk: Record<string, unknown>; extra: Record<string, unknown>[] };
    expect(Object.getPrototypeOf(parsed.disk)).to.equal(Object.prototype);
    expect(Object.hasOwn(parsed.disk, '__proto__')).to.equal(true);
    expect((parsed.disk.__proto__ as unknown[]).every((x) => x instanceof Slot)).to.equal(true);
    expect(Object.getPrototypeOf(parsed.extra[0])).to.equal(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(parsed.extra[0], '__proto__')!.value).to.be.instanceOf(Slot);
  });

  it('decodes chosen slots alone, of a whole row, of its prefix or of its payloads with headers known, as decodeValues does bit for bit (every header kind)', () => {
    const r = rng(7);
    // One kind of number per header kind: zero (L = 0), small and 7-byte integers (c 0), decimals
    // (c 1..9), 1e20 and such (c 13, scale < 0), measured doubles (c 15), and the row's ts (c 14).
    const kinds: (() => number)[] = [
      () => 0,
      () => Math.floor(r() * 300) - 150,
      () => Math.floor(r() * 2 ** 52) * (r() < 0.5 ? -1 : 1),
      () => Math.round((r() - 0.5) * 1e6) / 100,
      () => Math.round(r() * 1e9) / 1e9,
      () => Math.floor(r() * 1000) * 1e20,
      () => r() * 1e-3 + r() * 1e-12,
      () => -r(),
    ];
    const headers = new Set<number>();
    for (let round = 0; round < 300; round++) {
      const n = 1 + Math.floor(r() * 60);
      const nums: Record<string, number> = {};
      for (let i = 0; i < n; i++) nums[`k${i}`] = kinds[Math.floor(r() * kinds.length)]!();
      const ts = 1_800_000_000_000 + Math.floor(r() * 1e6);
      // the top-level ts is a slot taking the row's ts; put it between numbers now and then
      const s = r() < 0.5 ? { v: 1, host: 'h', ts, iv: 5, col: {}, m: nums } : { v: 1, host: 'h', iv: 5, col: {}, m: nums, ts };
      const e = encodeSnapshot(s);
      const slots = e.frags.length - 1;
      for (let i = 0; i < slots; i++) headers.add(e.vals[i]! & 15);
      const all = decodeValues(e.vals, slots, ts);
      const want = Array.from({ length: slots }, (_, i) => i).filter(() => r() < 0.3);
      const out = new Float64Array(slots).fill(Number.NaN);
      decodeSlots(e.vals, 0, slots, e.vals.length, 0, want, ts, out);
      for (const i of want) expect(Object.is(out[i], all[i]), `slot ${i} of ${slots}`).to.equal(true);
      // Cut as readRawSamples' packed read does: the first k headers, then the first 8k payload bytes, behind a 17-byte row header.
      const k = want.length ? want[want.length - 1]! + 1 : 0;
      const cut = Buffer.concat([Buffer.alloc(17), e.vals.subarray(0, k), e.vals.subarray(slots, slots + 8 * k)]);
      const out2 = new Float64Array(slots).fill(Number.NaN);
      decodeSlots(cut, 17, 17 + k, cut.length, 0, want, ts, out2);
      for (const i of want) expect(Object.is(out2[i], all[i]), `slot ${i} of ${slots}, cut`).to.equal(true);
      // The headers before the first wanted slot known (the read compared them): the row from that slot on, its payloads at the offset those give.
      const f = want.length ? want[0]! : k;
      const o = e.vals.subarray(0, f).reduce((sum, h) => sum + payloadLength(h), 0);
      const tail = Buffer.concat([Buffer.alloc(17), e.vals.subarray(f, k), e.vals.subarray(slots + o, slots + o + 8 * (k - f))]);
      const out3 = new Float64Array(slots).fill(Number.NaN);
      decodeSlots(tail, 17 - f, 17 + k - f, tail.length, f, want, ts, out3);
      for (const i of want) expect(Object.is(out3[i], all[i]), `slot ${i} of ${slots}, from slot ${f}`).to.equal(true);
      // A row cut short of a wanted payload or header is an error, never a wrong value.
      if (want.length) {
        const used = e.vals.subarray(f, k).reduce((sum, h) => sum + payloadLength(h), 0);
        const z = new Float64Array(slots);
        expect(() => decodeSlots(tail, 17 - f, 17 + k - f, 17 + k - f + used - 1, f, want, ts, z), 'short').to.throw(StoreError, /end inside the payload/);
        expect(() => decodeSlots(tail, 17 - f, 17 + k - f - 1, tail.length, f, want, ts, z), 'no header').to.throw(StoreError, /before the header/);
        expect(() => decodeSlots(tail, 17 - f, 17 + k - f, tail.length, f + 1, want, ts, z), 'before the first').to.throw(StoreError, /before the first slot/);
      }
    }
    expect([...headers].sort((a, b) => a - b)).to.include.members([0, 1, 2, 9, 13, 14, 15]);
  });
});
