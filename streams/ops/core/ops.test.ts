import { describe, expect, it } from 'vitest';
import { airmass, altAz, gmstDeg, raDec, SAN_PEDRO_MARTIR, sunAltitude } from './astro.ts';
import { fbm, hash01, smooth } from './noise.ts';
import { BLOCK_S, SLEW_S, tcsSample } from './tcs.ts';
import { dewPoint, weatherSample, weatherUnsafe } from './weather.ts';
import { cpuPercent, diskUsage, parseMeminfo, parseProcStat } from './host.ts';
import { telemetryAt } from './samples.ts';
import { runSimulator, tickRecords } from '../simulator.ts';

const SITE = SAN_PEDRO_MARTIR;
const NIGHT = Date.parse('2019-10-16T08:00:00Z'); // 00:00 local at San Pedro Mártir
const NOON = Date.parse('2019-10-16T20:00:00Z');

describe('noise', () => {
  it('is deterministic, seed-dependent and bounded', () => {
    expect(hash01(1, 'a', 5)).toBe(hash01(1, 'a', 5));
    expect(hash01(1, 'a', 5)).not.toBe(hash01(2, 'a', 5));
    expect(hash01(1, 'a', 5)).not.toBe(hash01(1, 'b', 5));
    let lo = 1, hi = 0, sum = 0;
    for (let i = -5000; i < 5000; i++) {
      const v = hash01(7, 'u', i);
      lo = Math.min(lo, v); hi = Math.max(hi, v); sum += v;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(sum / 10000).toBeCloseTo(0.5, 1);
  });
  it('smooth noise is continuous and in [-1, 1]', () => {
    for (let t = 0; t < 1000; t += 0.7) {
      const a = smooth(3, 'c', t, 60);
      const b = smooth(3, 'c', t + 0.01, 60);
      expect(Math.abs(a)).toBeLessThanOrEqual(1);
      expect(Math.abs(a - b)).toBeLessThan(0.01);
      expect(Math.abs(fbm(3, 'c', t, 60))).toBeLessThanOrEqual(1);
    }
  });
});

describe('astronomy', () => {
  it('GMST at J2000.0 is 18.697374558 h (IAU 1982)', () => {
    expect(gmstDeg(Date.parse('2000-01-01T12:00:00Z')) / 15).toBeCloseTo(18.697374558, 5);
  });
  it('a star at dec = latitude on the meridian is at the zenith; alt/az and ra/dec invert each other', () => {
    const ms = NIGHT;
    const { ra } = raDec(90, 0, ms, SITE);
    expect(altAz(ra, SITE.lat, ms, SITE).alt).toBeCloseTo(90, 4);
    for (const [alt, az] of [[45, 30], [20, 200], [70, 310]]) {
      const eq = raDec(alt, az, ms, SITE);
      const h = altAz(eq.ra, eq.dec, ms, SITE);
      expect(h.alt).toBeCloseTo(alt, 6);
      expect(h.az).toBeCloseTo(az, 6);
    }
  });
  it('the Sun is down at local midnight and up at local noon; airmass is 1 at the zenith', () => {
    expect(sunAltitude(NIGHT, SITE)).toBeLessThan(-40);
    expect(sunAltitude(NOON, SITE)).toBeGreaterThan(40);
    expect(airmass(90)).toBeCloseTo(1, 3);
    expect(airmass(30)).toBeCloseTo(2, 1);
  });
});

describe('weather', () => {
  it('same seed and time → same sample; another seed → another sample', () => {
    expect(weatherSample(NIGHT, 1)).toEqual(weatherSample(NIGHT, 1));
    expect(weatherSample(NIGHT, 1)).not.toEqual(weatherSample(NIGHT, 2));
  });
  it('stays in physical ranges over a month, with a diurnal cycle and some rain', () => {
    let rainy = 0;
    let dayT = 0, nightT = 0, n = 0;
    for (let ms = NIGHT; ms < NIGHT + 30 * 86400_000; ms += 600_000) {
      const w = weatherSample(ms, 1);
      expect(w.temperature).toBeGreaterThan(-25);
      expect(w.temperature).toBeLessThan(35);
      expect(w.humidity).toBeGreaterThanOrEqual(3);
      expect(w.humidity).toBeLessThanOrEqual(100);
      expect(w.dewPoint).toBeLessThanOrEqual(w.temperature + 1e-9);
      expect(w.windSpeed).toBeGreaterThanOrEqual(0);
      expect(w.windGust).toBeGreaterThanOrEqual(w.windSpeed);
      expect(w.windDirection).toBeGreaterThanOrEqual(0);
      expect(w.windDirection).toBeLessThan(360);
      expect(w.pressure).toBeGreaterThan(715);
      expect(w.pressure).toBeLessThan(740);
      expect(w.skyQuality).toBeGreaterThanOrEqual(0);
      expect(w.skyQuality).toBeLessThan(22.5);
      if (w.rain) {
        rainy++;
        expect(w.humidity).toBeGreaterThanOrEqual(95);
        expect(w.rainRate).toBeGreaterThan(0);
        expect(weatherUnsafe(w)).toBe('rain');
      }
      const localH = (new Date(ms).getUTCHours() + 24 - 8) % 24;
      if (localH === 15) { dayT += w.temperature; n++; }
      if (localH === 3) nightT += w.temperature;
    }
    expect(rainy).toBeGreaterThan(0);
    expect(dayT / n - nightT / n).toBeGreaterThan(5);
  });
  it('dew point (Magnus): 100 % RH gives the temperature itself', () => {
    expect(dewPoint(10, 100)).toBeCloseTo(10, 6);
    expect(dewPoint(20, 50)).toBeCloseTo(9.26, 1);
  });
});

describe('TCS', () => {
  it('is deterministic by seed', () => {
    expect(tcsSample(NIGHT + 1234_000, 5)).toEqual(tcsSample(NIGHT + 1234_000, 5));
    expect(tcsSample(NIGHT + 1234_000, 5)).not.toEqual(tcsSample(NIGHT + 1234_000, 6));
  });
  it('parks by day, observes at night: slews then tracks a target whose ra/dec matches alt/az', () => {
    const day = tcsSample(NOON, 1);
    expect(day.state).toBe('parked');
    expect(day.metrics.domeShutter).toBe(0);
    expect(day.metrics.alt).toBe(30);
    const states = new Set<string>();
    for (let ms = NIGHT - 3 * 3600_000; ms < NIGHT + 3 * 3600_000; ms += 30_000) {
      const s = tcsSample(ms, 1);
      states.add(s.state);
      expect(s.metrics.ccdTemp).toBeGreaterThan(-61);
      expect(s.metrics.ccdTemp).toBeLessThan(-59);
      if (s.state === 'tracking') {
        const inBlock = (ms / 1000) % BLOCK_S;
        expect(inBlock).toBeGreaterThanOrEqual(SLEW_S);
        expect(s.metrics.alt).toBeGreaterThan(20);
        const h = altAz(s.metrics.ra, s.metrics.dec, ms, SITE);
        expect(h.alt).toBeCloseTo(s.metrics.alt, 2);
        expect(s.metrics.domeShutter).toBe(1);
        expect(Math.abs(((s.metrics.domeAz - s.metrics.az + 540) % 360) - 180)).toBeLessThan(3);
      }
    }
    expect(states.has('tracking')).toBe(true);
    expect(states.has('slewing')).toBe(true);
  });
  it('closes for bad weather at night', () => {
    let closed = 0;
    for (let ms = NIGHT; ms < NIGHT + 60 * 86400_000; ms += 1800_000) {
      const s = tcsSample(ms, 1);
      if (s.state === 'closed-weather') {
        closed++;
        expect(weatherUnsafe(weatherSample(ms, 1))).not.toBeNull();
        expect(s.metrics.domeShutter).toBe(0);
      }
    }
    expect(closed).toBeGreaterThan(0);
  });
});

describe('host parsers', () => {
  it('parses /proc/stat and computes CPU busy %', () => {
    const a = parseProcStat('cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n');
    const b = parseProcStat('cpu  150 0 150 750 150 0 0 0 0 0\n');
    expect(a).toEqual({ total: 1000, idle: 800 });
    expect(cpuPercent(a, b)).toBeCloseTo(50, 6);
    expect(cpuPercent(a, a)).toBeNull();
  });
  it('parses /proc/meminfo and statfs', () => {
    const m = parseMeminfo('MemTotal:       1048576 kB\nMemFree:  100 kB\nMemAvailable:    524288 kB\nSwapTotal: 2048 kB\nSwapFree: 1024 kB\n');
    expect(m.totalMB).toBe(1024);
    expect(m.usedPct).toBe(50);
    expect(m.swapUsedMB).toBe(1);
    const d = diskUsage({ bsize: 4096, blocks: 1000, bfree: 300, bavail: 200 });
    expect(d.usedPct).toBeCloseTo((700 / 900) * 100, 6);
  });
});

describe('simulator loop', () => {
  it('produces the same records for the same seed whatever the pacing', async () => {
    const base = { sources: ['tcs', 'weather'] as const, seed: 3, start: NIGHT, rate: 2, speed: 30 };
    const got: unknown[] = [];
    let clock = 0;
    const r = await runSimulator({ ...base, sources: [...base.sources], count: 5, pace: true, send: async (x) => void got.push(...x), now: () => clock, sleep: async (ms) => void (clock += ms) });
    expect(r.ticks).toBe(5);
    expect(clock).toBe(2000); // 4 waits of 500 ms at 2 Hz
    const fast: unknown[] = [];
    await runSimulator({ ...base, sources: [...base.sources], count: 5, pace: false, batch: 2, send: async (x) => void fast.push(...x) });
    expect(fast).toEqual(got);
    expect(got).toHaveLength(10);
    // tick 4 is 4 × 30 / 2 = 60 s of event time after the start
    expect(tickRecords({ ...base, sources: [...base.sources] }, 4)[0]).toEqual(telemetryAt('tcs', NIGHT + 60_000, 3));
  });
});
