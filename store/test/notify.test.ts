/**
 * insertSnapshots notifies snapshotsChannel(schema) once per batch that wrote rows, with the
 * hosts it wrote (the api's live stream listens there). Listened to with a real LISTEN client.
 */
import { expect } from 'chai';
import pg from 'pg';
import { insertSnapshots, snapshotsChannel } from '../src/index.js';
import { fakeSnapshot, testSchema, type TestSchema } from './helpers.js';

const T0 = Date.UTC(2030, 4, 1, 10, 0, 0);

interface Heard {
  channel: string;
  payload: unknown;
}

/** A LISTEN connection collecting notifications of one channel. */
async function listen(url: string, channel: string): Promise<{ heard: Heard[]; next(): Promise<Heard>; flush(pool: pg.Pool): Promise<void>; end(): Promise<void> }> {
  const c = new pg.Client(url);
  c.on('error', () => undefined);
  await c.connect();
  const heard: Heard[] = [];
  const waiters: ((h: Heard) => boolean)[] = [];
  c.on('notification', (n) => {
    const h = { channel: n.channel, payload: JSON.parse(n.payload ?? 'null') as unknown };
    if ((h.payload as { flush?: string }).flush === undefined) heard.push(h);
    for (const w of waiters.splice(0)) if (!w(h)) waiters.push(w);
  });
  await c.query(`LISTEN "${channel}"`);
  const wait = (pred: (h: Heard) => boolean) =>
    new Promise<Heard>((resolve) => {
      waiters.push((h) => {
        if (!pred(h)) return false;
        resolve(h);
        return true;
      });
    });
  let flushes = 0;
  return {
    heard,
    next: () => wait((h) => (h.payload as { flush?: string }).flush === undefined),
    /**
     * Proves the listener is caught up with everything committed before: notifications arrive in
     * commit order, so once a marker sent now arrives, every earlier one has.
     */
    async flush(pool: pg.Pool) {
      const marker = `m${++flushes}`;
      const got = wait((h) => (h.payload as { flush?: string }).flush === marker);
      await pool.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify({ flush: marker })]);
      await got;
    },
    end: () => c.end(),
  };
}

describe('insertSnapshots notifies the live stream', function () {
  this.timeout(30_000);
  let t: TestSchema;
  let other: TestSchema;

  beforeEach(async () => {
    t = await testSchema({ migrate: true });
    other = await testSchema({ migrate: true });
  });
  afterEach(async () => {
    await t.drop();
    await other.drop();
  });

  it('one notification per batch, naming the distinct hosts written', async () => {
    const l = await listen(t.url, snapshotsChannel(t.schema));
    try {
      const batch = [fakeSnapshot('web02', T0), fakeSnapshot('web01', T0), fakeSnapshot('web01', T0 + 5000), fakeSnapshot('db01', T0)];
      const got = l.next();
      await insertSnapshots(t.pool, batch);
      const h = await got;
      expect(h.channel).to.equal(snapshotsChannel(t.schema));
      expect((h.payload as { hosts: string[] }).hosts.slice().sort()).to.deep.equal(['db01', 'web01', 'web02']);
      await l.flush(t.pool);
      expect(l.heard).to.have.length(1);
    } finally {
      await l.end();
    }
  });

  it('a batch that writes nothing (a replay) notifies nothing; one that writes part names only those hosts', async () => {
    const l = await listen(t.url, snapshotsChannel(t.schema));
    try {
      await insertSnapshots(t.pool, [fakeSnapshot('a', T0), fakeSnapshot('b', T0)]);
      await insertSnapshots(t.pool, [fakeSnapshot('a', T0), fakeSnapshot('b', T0)]);
      await insertSnapshots(t.pool, [fakeSnapshot('a', T0), fakeSnapshot('b', T0 + 5000)]);
      await l.flush(t.pool);
      expect(l.heard.map((h) => (h.payload as { hosts: string[] }).hosts.slice().sort())).to.deep.equal([['a', 'b'], ['b']]);
    } finally {
      await l.end();
    }
  });

  it('another schema in the same database hears nothing', async () => {
    expect(snapshotsChannel(t.schema)).to.not.equal(snapshotsChannel(other.schema));
    const l = await listen(t.url, snapshotsChannel(other.schema));
    try {
      await insertSnapshots(t.pool, [fakeSnapshot('a', T0)]);
      await l.flush(other.pool);
      expect(l.heard).to.deep.equal([]);
      await insertSnapshots(other.pool, [fakeSnapshot('a', T0)]);
      await l.flush(other.pool);
      expect(l.heard.map((h) => h.payload)).to.deep.equal([{ hosts: ['a'] }]);
    } finally {
      await l.end();
    }
  });

  it('too many hosts for one payload: {"all":true}', async () => {
    const l = await listen(t.url, snapshotsChannel(t.schema));
    try {
      // 200 names of 60 characters: about 12 KB of JSON, over the 8000-byte NOTIFY limit.
      const batch = Array.from({ length: 200 }, (_, i) => fakeSnapshot(`${'h'.repeat(56)}${String(i).padStart(4, '0')}`, T0));
      const got = l.next();
      await insertSnapshots(t.pool, batch);
      expect((await got).payload).to.deep.equal({ all: true });
    } finally {
      await l.end();
    }
  });

  it('channel names stay identifiers (63 bytes) for the longest schema names', () => {
    const long = 'a'.repeat(63);
    expect(Buffer.byteLength(snapshotsChannel(long))).to.be.at.most(63);
    expect(snapshotsChannel(long)).to.not.equal(snapshotsChannel(`${'a'.repeat(62)}b`));
    expect(snapshotsChannel('perfwatch')).to.equal('perfwatch_snapshots_perfwatch');
  });
});
