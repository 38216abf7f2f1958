/**
 * The stored form of a Snapshot: a per-host *shape* (the JSON text with every number cut out,
 * kept once in snapshot_shapes) and, per row, the numbers in a compact binary form
 * (snapshots.vals). Plain JSONB costs 2.1-2.9 KB all-in per 2-CPU snapshot; this about 0.72 KB
 * (docs/storage.md, "Storage format", has the measurements and the alternatives tried).
 *
 * What round-trips: the snapshot's JSON value, exactly (what JSON.stringify would write: keys in
 * their order, strings, booleans, nulls, and every number bit for bit). As with JSON, undefined
 * members are left out, NaN and Infinity become null and -0 becomes 0.
 *
 * Shape: the JSON text split at each number into fragments (frags[0] NUM frags[1] NUM ...). The
 * top-level "ts" of an integer-millisecond snapshot is a slot that takes the row's ts, so it costs
 * one byte. Two snapshots of the same host with the same fragments share a shape; a new disk, a
 * collector error message or a counter becoming null makes a new one.
 *
 * Values (`vals`): one header byte per slot, then the payloads in slot order.
 *   header = (L << 4) | c; L = payload bytes of the zigzag mantissa (big-endian, 0..7; 0 = zero)
 *   c 0..12  value = mantissa / 10^c
 *   c 13     an int8 scale s precedes the mantissa: value = mantissa / 10^s (s < 0 for 1e20)
 *   c 14     the row's ts in ms (no payload)
 *   c 15     the IEEE double itself (L = 8): what has no short decimal form (a measured duration)
 * Any (mantissa, scale) whose quotient is exactly the double is used, so decoding gives back the
 * same bits: counters are integers (c = 0, 1-5 bytes), /proc/stat seconds have two decimals. The
 * headers-first layout lets SQL decode it set-wise (snapshot_json(), migration 0003).
 */
import { createHash } from 'node:crypto';
import { StoreError } from './errors.js';
import type { Snapshot } from './snapshot.js';

/** A snapshot cut into its shape and its numbers. */
export interface EncodedSnapshot {
  /** the JSON text between numbers: one more fragment than there are slots. */
  frags: string[];
  /** sha-256 (hex) of the fragments: a shape's identity within its host. */
  hash: string;
  /** the numbers, encoded as above. */
  vals: Buffer;
}

const SCALE8 = 13;
const ROW_TS = 14;
const RAW = 15;
const TWO52 = 2 ** 52;
// Separator of fragments when hashing: cannot occur in JSON text (control characters are escaped).
const SEP = '\u0001';
// Powers of ten that are exact doubles.
const POW10: number[] = Array.from({ length: 23 }, (_, i) => 10 ** i);

// JSON text of object keys ("cpu": ...): the same few hundred keys come back every snapshot.
const keyText = new Map<string, string>();
function keyJson(k: string): string {
  let t = keyText.get(k);
  if (t === undefined) {
    t = `${JSON.stringify(k)}:`;
    if (keyText.size < 100_000) keyText.set(k, t);
  }
  return t;
}

class Encoder {
  frags: string[] = [];
  cur = '';
  nums: number[] = [];

  slot(v: number): void {
    this.frags.push(this.cur);
    this.cur = '';
    this.nums.push(v);
  }

  value(v: unknown, inArray: boolean): boolean {
    switch (typeof v) {
      case 'number':
        if (Number.isFinite(v)) this.slot(v);
        else this.cur += 'null';
        return true;
      case 'string':
        this.cur += JSON.stringify(v);
        return true;
      case 'boolean':
        this.cur += v ? 'true' : 'false';
        return true;
      case 'object':
        if (v === null) this.cur += 'null';
        else if (Array.isArray(v)) this.array(v);
        else this.object(v as Record<string, unknown>, false);
        return true;
      case 'bigint':
        throw new StoreError('INVALID_ARGUMENT', 'a snapshot cannot hold a BigInt (JSON has no such number)');
      default:
        // undefined, functions, symbols: left out of objects, null in arrays (JSON.stringify's rules).
        if (inArray) this.cur += 'null';
        return inArray;
    }
  }

  array(a: unknown[]): void {
    this.cur += '[';
    for (let i = 0; i < a.length; i++) {
      if (i) this.cur += ',';
      this.value(a[i], true);
    }
    this.cur += ']';
  }

  object(o: Record<string, unknown>, top: boolean): void {
    if (typeof (o as { toJSON?: unknown }).toJSON === 'function') {
      this.value((o as { toJSON(): unknown }).toJSON(), false);
      return;
    }
    this.cur += '{';
    let first = true;
    for (const k of Object.keys(o)) {
      const v = o[k];
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
      if (!first) this.cur += ',';
      this.cur += keyJson(k);
      first = false;
      if (top && k === 'ts' && Number.isSafeInteger(v)) this.slot(Number.NaN); // the row's ts
      else this.value(v, false);
    }
    this.cur += '}';
  }
}

/** The int8 scale (c = 13) and mantissa of v, or undefined to store v as a raw double (c = 15). */
function decimal(v: number): [number, number] | undefined {
  if (Number.isInteger(v)) {
    if (Math.abs(v) < TWO52) return [v, 0];
    // 1e20 and such: digits and a negative scale; otherwise the raw double.
    for (let s = -1; s >= -22; s--) {
      const m = v / POW10[-s]!;
      if (Number.isInteger(m) && Math.abs(m) < TWO52 && m * POW10[-s]! === v) return [m, s];
    }
    return undefined;
  }
  // Any (m, s) whose m / 10^s is v decodes exactly (both exact doubles: the quotient is correctly
  // rounded, like parsing the decimal). Up to 9 decimals; a measured double (17 digits) is raw.
  for (let s = 1; s <= 9; s++) {
    const m = Math.round(v * POW10[s]!);
    if (Math.abs(m) < TWO52 && m / POW10[s]! === v) return [m, s];
  }
  return undefined;
}

function writeValues(nums: readonly number[]): Buffer {
  const n = nums.length;
  // Worst case: header + 8 bytes each.
  const buf = Buffer.allocUnsafe(n * 9);
  let p = n;
  for (let i = 0; i < n; i++) {
    const v = nums[i]!;
    if (Number.isNaN(v)) {
      buf[i] = ROW_TS;
      continue;
    }
    const d = decimal(v);
    if (d === undefined) {
      buf[i] = (8 << 4) | RAW;
      buf.writeDoubleBE(v, p);
      p += 8;
      continue;
    }
    const [mant, scale] = d;
    let c = scale;
    if (scale < 0 || scale > 12) {
      c = SCALE8;
      buf.writeInt8(scale, p++);
    }
    // zigzag in floating point: exact below 2^53.
    const z = mant >= 0 ? mant * 2 : -mant * 2 - 1;
    const len = z === 0 ? 0 : z < 256 ? 1 : z < 65536 ? 2 : z < 16777216 ? 3 : z < 4294967296 ? 4 : z < 1099511627776 ? 5 : z < 281474976710656 ? 6 : 7;
    for (let k = len - 1, x = z; k >= 0; k--) {
      buf[p + k] = x % 256;
      x = Math.floor(x / 256);
    }
    p += len;
    buf[i] = (len << 4) | c;
  }
  return Buffer.from(buf.subarray(0, p));
}

/**
 * Cuts a snapshot into shape and values. `known`: a shape this host had before (usually its last
 * one); when the fragments are the same its hash is reused instead of hashing again.
 * Throws StoreError INVALID_ARGUMENT for what JSON cannot hold.
 */
export function encodeSnapshot(s: Snapshot | object, known?: { frags: readonly string[]; hash: string }): EncodedSnapshot {
  const e = new Encoder();
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new StoreError('INVALID_ARGUMENT', 'a snapshot is a JSON object');
  e.object(s as Record<string, unknown>, true);
  e.frags.push(e.cur);
  const same = known !== undefined && sameFrags(known.frags, e.frags);
  return { frags: same ? (known.frags as string[]) : e.frags, hash: same ? known.hash : shapeHash(e.frags), vals: writeValues(e.nums) };
}

function sameFrags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function shapeHash(frags: readonly string[]): string {
  return createHash('sha256').update(frags.join(SEP)).digest('hex');
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

// A raw double read through these (a DataView per value costs more than the copy).
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The big-endian IEEE double at p. */
function rawDouble(b: Uint8Array, p: number): number {
  for (let k = 0; k < 8; k++) F64_BYTES[LITTLE_ENDIAN ? 7 - k : k] = b[p + k]!;
  return F64[0]!;
}

/** The value of a decimal slot: mantissa m (zigzag decoded) over 10^scale. */
function scaled(m: number, scale: number): number {
  if (scale === 0) return m;
  if (scale > 0 && scale <= 22) return m / POW10[scale]!;
  if (scale < 0 && scale >= -22) return m * POW10[-scale]!;
  return Number(`${m}e${-scale}`);
}

/** The zigzag mantissa of `len` big-endian bytes at p. */
function mantissa(b: Uint8Array, p: number, len: number): number {
  let z = 0;
  for (let k = 0; k < len; k++) z = z * 256 + b[p + k]!;
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/**
 * Decodes the values of a row into `out` (n = slots of its shape), the row ts going where the
 * shape has the top-level ts. Only the first `upTo` slots are decoded when given (queries that
 * need a few values of a wide shape).
 */
export function decodeValues(vals: Uint8Array, n: number, rowTsMs: number, out: Float64Array = new Float64Array(n), upTo = n): Float64Array {
  if (vals.length < n) throw new StoreError('DB_QUERY_FAILED', `snapshot values are ${vals.length} bytes, shorter than their ${n} headers`);
  let p = n;
  // One view per row, made at its first raw double (most rows have none).
  let dv: DataView | undefined;
  for (let i = 0; i < upTo; i++) {
    const h = vals[i]!;
    const len = h >> 4;
    const c = h & 15;
    if (c === ROW_TS) {
      out[i] = rowTsMs;
      continue;
    }
    if (c === RAW) {
      out[i] = (dv ??= view(vals)).getFloat64(p);
      p += 8;
      continue;
    }
    const scale = c <= 12 ? c : (vals[p++]! << 24) >> 24;
    out[i] = scaled(mantissa(vals, p, len), scale);
    p += len;
  }
  return out;
}

/** The payload bytes of a slot with header h: the mantissa's (the high nibble; 8 for a raw double), and a scale byte. */
export function payloadLength(h: number): number {
  return (h >> 4) + ((h & 15) === SCALE8 ? 1 : 0);
}

/**
 * Decodes only the slots `want` (ascending, distinct) of a row into out[slot], skipping the
 * payloads of the others by their headers alone: a query wanting 16 CPU values of a 426-slot row
 * reads its headers up to the last of them and 16 payloads. The row need not be whole (what
 * readRawSamples fetches of many hosts): slot i's header is at b[hdr + i] (for i up to the last
 * wanted slot), and the payloads from slot `first` on start at b[pay] (up to at least the end of
 * the last wanted one, before `end`). A whole row: decodeSlots(v, 0, n, v.length, 0, ...).
 * Gives the same values as decodeValues, bit for bit.
 */
export function decodeSlots(b: Uint8Array, hdr: number, pay: number, end: number, first: number, want: ArrayLike<number>, rowTsMs: number, out: Float64Array): void {
  const m = want.length;
  if (m === 0) return;
  const last = want[m - 1]!;
  if (want[0]! < first) throw new StoreError('INVALID_ARGUMENT', `slot ${want[0]} is before the first slot read, ${first}`);
  // The headers come before the payloads.
  if (hdr + last >= pay) throw new StoreError('DB_QUERY_FAILED', `snapshot values end before the header of slot ${last}`);
  let p = pay;
  let j = 0;
  let next = want[0]!;
  for (let i = first; i <= last; i++) {
    const x = b[hdr + i]!;
    const c = x & 15;
    const len = payloadLength(x);
    if (i !== next) {
      p += len;
      continue;
    }
    if (p + len > end) throw new StoreError('DB_QUERY_FAILED', `snapshot values end inside the payload of slot ${i}`);
    if (c === ROW_TS) out[i] = rowTsMs;
    else if (c === RAW) out[i] = rawDouble(b, p);
    else if (c === SCALE8) out[i] = scaled(mantissa(b, p + 1, len - 1), (b[p]! << 24) >> 24);
    else out[i] = scaled(mantissa(b, p, len), c);
    p += len;
    next = ++j < m ? want[j]! : -1;
  }
}

/** Formats a number the way it stands in JSON text (finite only). */
function jsonNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : 'null';
}

/** The snapshot back from its shape and values (the row's ts fills the ts slot). */
export function decodeSnapshot(frags: readonly string[], vals: Uint8Array, rowTsMs: number): Snapshot {
  const n = frags.length - 1;
  const nums = decodeValues(vals, n, rowTsMs);
  let text = frags[0]!;
  for (let i = 0; i < n; i++) text += jsonNumber(nums[i]!) + frags[i + 1]!;
  return JSON.parse(text) as Snapshot;
}

/** A number slot of a shape, as parseShape puts it where a value goes. */
export class Slot {
  constructor(readonly index: number) {}
}

/**
 * The shape as an object whose numbers are Slot objects: what the catalog walks to learn, once
 * per shape, which slot holds which sample (catalog.ts, planFor).
 */
export function parseShape(frags: readonly string[]): unknown {
  let text = frags[0]!;
  for (let i = 1; i < frags.length; i++) text += String(i - 1) + frags[i]!;
  // Parsed plainly, then its numbers made Slots in place: a reviver called for every value cost
  // several times the parse (a fleet's first query parses 1,000 hosts' shapes).
  return slotsIn(JSON.parse(text));
}

function slotsIn(v: unknown): unknown {
  if (typeof v === 'number') return new Slot(v);
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'number') v[i] = new Slot(x);
      else if (typeof x === 'object' && x !== null) slotsIn(x);
    }
    return v;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    const x = o[k];
    if (typeof x === 'number') {
      // (a member named __proto__, a label value like any other, is JSON.parse's own property)
      if (k === '__proto__') Object.defineProperty(o, k, { value: new Slot(x), writable: true, enumerable: true, configurable: true });
      else o[k] = new Slot(x);
    } else if (typeof x === 'object' && x !== null) slotsIn(x);
  }
  return v;
}
