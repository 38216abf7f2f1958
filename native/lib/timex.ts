/**
 * The kernel's clock discipline (adjtimex(2), read-only), in base units as node_exporter's timex
 * collector gives them (collector/timex.go): offsets and errors in seconds, frequencies as ratios
 * and hertz. `timex.offset` and `jitter` are in nanoseconds when STA_NANO is set in `status`,
 * microseconds otherwise; `freq`, `ppsfreq` and `stabil` are parts per million with a 16-bit
 * binary fraction (adjtimex(2), NOTES).
 */
import { PerfError } from './errors.js';
import { loadNative, type RawTimex } from './native.js';

/** adjtimex's return value when the clock is not synchronized. */
export const TIME_ERROR = 5;
const STA_NANO = 0x2000;
const PPM16 = 1_000_000 * 65_536;

export interface Timex {
  /** 1 when the kernel considers the clock synchronized (the call did not return TIME_ERROR). */
  syncStatus: number;
  offsetSeconds: number;
  /** 1 + freq: the clock's frequency adjustment as a ratio. */
  frequencyAdjustmentRatio: number;
  maxErrorSeconds: number;
  estimatedErrorSeconds: number;
  /** the status bits (STA_*). */
  status: number;
  loopTimeConstant: number;
  tickSeconds: number;
  ppsFrequencyHertz: number;
  ppsJitterSeconds: number;
  ppsShiftSeconds: number;
  ppsStabilityHertz: number;
  ppsJitterTotal: number;
  ppsCalibrationTotal: number;
  ppsErrorTotal: number;
  ppsStabilityExceededTotal: number;
  taiOffsetSeconds: number;
}

/** Pure: the kernel's struct in base units. */
export function timexOf(t: RawTimex): Timex {
  const div = (t.status & STA_NANO) !== 0 ? 1e9 : 1e6;
  return {
    syncStatus: t.state === TIME_ERROR ? 0 : 1,
    offsetSeconds: t.offset / div,
    frequencyAdjustmentRatio: 1 + t.freq / PPM16,
    maxErrorSeconds: t.maxerror / 1e6,
    estimatedErrorSeconds: t.esterror / 1e6,
    status: t.status,
    loopTimeConstant: t.constant,
    tickSeconds: t.tick / 1e6,
    ppsFrequencyHertz: 1 + t.ppsfreq / PPM16,
    ppsJitterSeconds: t.jitter / div,
    ppsShiftSeconds: t.shift,
    ppsStabilityHertz: t.stabil / PPM16,
    ppsJitterTotal: t.jitcnt,
    ppsCalibrationTotal: t.calcnt,
    ppsErrorTotal: t.errcnt,
    ppsStabilityExceededTotal: t.stbcnt,
    taiOffsetSeconds: t.tai,
  };
}

/**
 * The local time zone now: its abbreviation ("UTC", "CET", "PDT": what node_exporter's time
 * collector labels with, from Go's time.Now().Zone()) and its offset east of UTC in seconds, from
 * the C library (TZ, else /etc/localtime). Throws PerfError 'native addon not built' (an addon
 * built before this call existed counts as not built).
 */
export function localZone(): { name: string; offset: number } {
  const b = loadNative();
  if (!b.localZone) throw new PerfError('native addon not built', 'the native addon predates localZone(): rebuild it (npm run build)');
  return b.localZone();
}

/** Reads the clock's state now. Throws PerfError 'native addon not built', or the call's errno error. */
export function readTimex(): Timex {
  return timexOf(loadNative().adjtimex());
}
