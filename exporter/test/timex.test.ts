/**
 * The timex collector (adjtimex(2) through the native addon, the system time and zone) against
 * node_exporter's timex and time collectors scraped at the same moment on this machine: the
 * same sync status, status bits, loop constant, tick, TAI offset and PPS counters, the frequency
 * ratio and error estimates within what the clock moves in a second; and the unit conversion
 * (timexOf) on the kernel's raw values, microsecond and nanosecond modes.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { timexOf, TIME_ERROR, type RawTimex } from '@perfwatch/native';
import { COLLECTORS } from '../src/collectors/registry.js';
import { renderSnapshotText } from '../src/metrics.js';
import { SnapshotPipeline } from '../src/snapshot.js';
import { freePort } from '../../store/test/helpers.js';
import { parseExposition, quietLogger, testConfig } from './helpers.js';

const RAW: RawTimex = {
  state: 0, status: 0x2001, offset: -1_500_000, freq: 65_536 * 12, maxerror: 250_000, esterror: 1_000, constant: 7, precision: 1,
  tolerance: 32_768_000, tick: 10_000, ppsfreq: -65_536, jitter: 2_000, shift: 4, stabil: 65_536 / 2, jitcnt: 3, calcnt: 9, errcnt: 1, stbcnt: 2, tai: 37,
};

describe('timex collector', function () {
  this.timeout(30_000);

  it('timexOf: nanosecond offsets under STA_NANO, microseconds otherwise; ppm with a 16-bit fraction; TIME_ERROR is unsynchronized', () => {
    const t = timexOf(RAW);
    expect(t).to.deep.include({ syncStatus: 1, offsetSeconds: -0.0015, maxErrorSeconds: 0.25, estimatedErrorSeconds: 0.001, status: 0x2001, loopTimeConstant: 7, tickSeconds: 0.01, ppsJitterSeconds: 0.000002, ppsShiftSeconds: 4, ppsJitterTotal: 3, ppsCalibrationTotal: 9, ppsErrorTotal: 1, ppsStabilityExceededTotal: 2, taiOffsetSeconds: 37 });
    expect(t.frequencyAdjustmentRatio).to.equal(1 + 12 / 1e6);
    expect(t.ppsFrequencyHertz).to.equal(1 - 1 / 1e6);
    expect(t.ppsStabilityHertz).to.equal(0.5 / 1e6);
    const micro = timexOf({ ...RAW, status: 0x0001, state: TIME_ERROR });
    expect(micro.offsetSeconds).to.equal(-1.5);
    expect(micro.ppsJitterSeconds).to.equal(0.002);
    expect(micro.syncStatus).to.equal(0);
  });

  const nodeExporter = () => spawnSync('sh', ['-c', 'command -v prometheus-node-exporter || command -v node_exporter'], { encoding: 'utf8' }).stdout.trim();

  /** node_exporter's timex and time collectors on a free port (with `env` added), its /metrics URL once it answers. */
  async function startNodeExporter(bin: string, env: Record<string, string> = {}) {
    const port = await freePort();
    const child = spawn(bin, [`--web.listen-address=127.0.0.1:${port}`, '--collector.disable-defaults', '--collector.timex', '--collector.time', '--log.level=error'], { stdio: 'ignore', env: { ...process.env, ...env } });
    const url = `http://127.0.0.1:${port}/metrics`;
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = await fetch(url).then((r) => r.ok, () => false);
      if (!up) await new Promise((r) => setTimeout(r, 50));
    }
    return { child, url, up };
  }

  it("the time zone as node_exporter labels it (the abbreviation, Go's Zone()) and its offset, under several TZ settings", async function () {
    const bin = nodeExporter();
    if (!bin) this.skip();
    const saved = process.env.TZ;
    // Zones with and without summer time, east and west, a half hour; TZ="" is UTC.
    for (const tz of ['Europe/Berlin', 'America/Los_Angeles', 'Asia/Kolkata', 'Australia/Adelaide', '']) {
      const ne = await startNodeExporter(bin, { TZ: tz });
      try {
        expect(ne.up, 'node_exporter answers').to.equal(true);
        process.env.TZ = tz;
        const pipeline = new SnapshotPipeline(testConfig(), COLLECTORS.filter((c) => c.name === 'timex'), quietLogger());
        const [theirs, snap] = await Promise.all([fetch(ne.url).then((r) => r.text()), pipeline.collect()]);
        await pipeline.close();
        const zoneOf = (m: Map<string, number>, prefix: string) => [...m].find(([k]) => k.startsWith(prefix))!;
        const [ours, ourValue] = zoneOf(parseExposition(await renderSnapshotText(snap)), 'perfwatch_time_zone_offset_seconds');
        const [node, nodeValue] = zoneOf(parseExposition(theirs), 'node_time_zone_offset_seconds');
        expect(ours.slice('perfwatch_'.length), `TZ=${tz}`).to.equal(node.slice('node_'.length));
        expect(ourValue, `TZ=${tz}`).to.equal(nodeValue);
      } finally {
        if (saved === undefined) delete process.env.TZ;
        else process.env.TZ = saved;
        ne.child.kill();
      }
    }
  });

  it("answers as node_exporter's timex and time collectors do, scraped at the same moment", async function () {
    const bin = nodeExporter();
    if (!bin) this.skip();
    const { child, url, up } = await startNodeExporter(bin);
    try {
      expect(up, 'node_exporter answers').to.equal(true);
      const pipeline = new SnapshotPipeline(testConfig(), COLLECTORS.filter((c) => c.name === 'timex'), quietLogger());
      const [theirs, snap] = await Promise.all([fetch(url).then((r) => r.text()), pipeline.collect()]);
      await pipeline.close();
      expect(snap.col.timex?.ok, JSON.stringify(snap.col.timex)).to.equal(true);
      const ours = parseExposition(await renderSnapshotText(snap));
      const node = parseExposition(theirs);
      const both = (name: string) => {
        const a = ours.get(`perfwatch_${name}`);
        const b = node.get(`node_${name}`);
        expect(a, `perfwatch_${name}`).to.be.a('number');
        expect(b, `node_${name}`).to.be.a('number');
        return [a!, b!] as const;
      };
      for (const exact of ['timex_sync_status', 'timex_status', 'timex_loop_time_constant', 'timex_tick_seconds', 'timex_tai_offset_seconds', 'timex_pps_shift_seconds', 'timex_pps_jitter_total', 'timex_pps_calibration_total', 'timex_pps_error_total', 'timex_pps_stability_exceeded_total']) {
        const [a, b] = both(exact);
        expect(a, exact).to.equal(b);
      }
      // The clock moves between the two reads: frequency by a few ppm at most, errors by 500 us/s.
      expect(both('timex_frequency_adjustment_ratio')[0]).to.be.closeTo(both('timex_frequency_adjustment_ratio')[1], 1e-5);
      for (const e of ['timex_maxerror_seconds', 'timex_estimated_error_seconds', 'timex_offset_seconds']) {
        const [a, b] = both(e);
        expect(a, e).to.be.closeTo(b, 0.01);
      }
      const [now, theirNow] = both('time_seconds');
      expect(now).to.be.closeTo(theirNow, 5);
      const zone = [...ours.keys()].find((k) => k.startsWith('perfwatch_time_zone_offset_seconds'))!;
      const theirZone = [...node.keys()].find((k) => k.startsWith('node_time_zone_offset_seconds'))!;
      expect(zone.slice('perfwatch_'.length)).to.equal(theirZone.slice('node_'.length));
      expect(ours.get(zone)).to.equal(node.get(theirZone));
    } finally {
      child.kill();
    }
  });
});
