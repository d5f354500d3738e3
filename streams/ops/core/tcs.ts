/**
 * A telescope control system (TCS) simulation for COLIBRI: a pure function of (seed, event time)
 * giving the state and pointing an operator would see.
 *
 * - Day and twilight (Sun above −12°): `parked` at the park position (alt 30°, az 180°), dome closed.
 * - Weather interlock (weather.ts `weatherUnsafe`: rain, RH ≥ 85 %, gusts ≥ 18 m/s): `closed-weather`,
 *   parked, dome closed. The same seed drives both simulations, so the plots agree.
 * - Night: 20-minute observing blocks. Each block's target (ra, dec) is drawn near the meridian at the
 *   block's start (hour angle within ±2 h, declination within ±50° of the latitude, kept above 25° of
 *   altitude); ~10 % of blocks are GRB follow-ups (`followUp` = 1). A block starts with a 90 s
 *   `slewing` phase (linear in alt/az from the previous pointing), then `tracking`: alt/az follow the
 *   target with the sky's rotation (astro.ts), with ±0.3" jitter.
 * - Dome azimuth follows the telescope within ~2°; shutter 1 = open.
 * - Focus (µm) tracks the ambient temperature (12 µm/°C, the usual thermal compensation of the
 *   truss), camera CCD held at −60 °C by a cooler whose power rises with the ambient temperature.
 * Units: degrees for angles, µm for focus, °C, % for cooler power.
 */
import { SAN_PEDRO_MARTIR, airmass, altAz, lstDeg, norm360, raDec, sunAltitude, type Site } from './astro.ts';
import { clamp, hash01, hashSigned, round, smooth } from './noise.ts';
import { weatherSample, weatherUnsafe } from './weather.ts';

export type TcsState = 'parked' | 'closed-weather' | 'slewing' | 'tracking';

export interface TcsSample {
  state: TcsState;
  metrics: {
    ra: number;
    dec: number;
    alt: number;
    az: number;
    ha: number;
    airmass: number;
    domeAz: number;
    domeShutter: number;
    focus: number;
    ccdTemp: number;
    coolerPower: number;
    followUp: number;
  };
}

export const BLOCK_S = 1200;
export const SLEW_S = 90;
export const PARK = { alt: 30, az: 180 };

/** Target of observing block k (event time of its start: k * BLOCK_S). */
export function blockTarget(seed: number, k: number, site: Site = SAN_PEDRO_MARTIR): { ra: number; dec: number; followUp: boolean } {
  const startMs = k * BLOCK_S * 1000;
  let ra = norm360(lstDeg(startMs, site) + 30 * hashSigned(seed, 'tcs.ha', k));
  let dec = clamp(site.lat + 50 * hashSigned(seed, 'tcs.dec', k), -30, 85);
  // keep the whole block above 25° of altitude; otherwise point near the zenith
  const lowest = Math.min(altAz(ra, dec, startMs, site).alt, altAz(ra, dec, startMs + BLOCK_S * 1000, site).alt);
  if (lowest < 25) {
    ra = norm360(lstDeg(startMs + (BLOCK_S * 1000) / 2, site));
    dec = site.lat + 10 * hashSigned(seed, 'tcs.dec.fallback', k);
  }
  return { ra: round(ra, 6), dec: round(dec, 6), followUp: hash01(seed, 'tcs.grb', k) < 0.1 };
}

function observing(ms: number, seed: number, site: Site): boolean {
  return sunAltitude(ms, site) < -12 && weatherUnsafe(weatherSample(ms, seed, site)) === null;
}

/** Alt/az the telescope points at, at time ms, when it tracks block k's target. */
function trackedAltAz(seed: number, k: number, ms: number, site: Site) {
  const tg = blockTarget(seed, k, site);
  return { ...altAz(tg.ra, tg.dec, ms, site), target: tg };
}

export function tcsSample(ms: number, seed = 1, site: Site = SAN_PEDRO_MARTIR): TcsSample {
  const t = ms / 1000;
  const w = weatherSample(ms, seed, site);
  const sunAlt = sunAltitude(ms, site);
  const unsafe = weatherUnsafe(w);
  let state: TcsState;
  let alt: number;
  let az: number;
  let followUp = 0;
  let shutter = 0;
  if (sunAlt >= -12 || unsafe) {
    state = sunAlt >= -12 ? 'parked' : 'closed-weather';
    alt = PARK.alt;
    az = PARK.az;
  } else {
    const k = Math.floor(t / BLOCK_S);
    const inBlock = t - k * BLOCK_S;
    const cur = trackedAltAz(seed, k, ms, site);
    followUp = cur.target.followUp ? 1 : 0;
    shutter = 1;
    if (inBlock < SLEW_S) {
      state = 'slewing';
      // previous pointing: the previous block's target if we were observing then, else the park position
      const prevMs = (k * BLOCK_S - 1) * 1000;
      const from = observing(prevMs, seed, site) ? trackedAltAz(seed, k - 1, ms, site) : PARK;
      const f = inBlock / SLEW_S;
      let dAz = norm360(cur.az - from.az);
      if (dAz > 180) dAz -= 360;
      alt = from.alt + (cur.alt - from.alt) * f;
      az = norm360(from.az + dAz * f);
    } else {
      state = 'tracking';
      alt = cur.alt;
      az = cur.az;
    }
  }
  let eq: { ra: number; dec: number };
  if (state === 'tracking') {
    const tg = blockTarget(seed, Math.floor(t / BLOCK_S), site);
    const jitter = 0.3 / 3600;
    eq = { ra: norm360(tg.ra + jitter * smooth(seed, 'tcs.jitter.ra', t, 5)), dec: tg.dec + jitter * smooth(seed, 'tcs.jitter.dec', t, 5) };
  } else eq = raDec(alt, az, ms, site);
  const ha = altAz(eq.ra, eq.dec, ms, site).ha;
  const domeAz = shutter ? norm360(az + 2 * smooth(seed, 'dome.lag', t, 45)) : PARK.az;
  const focus = 1500 + 12 * (w.temperature - 8) + 3 * smooth(seed, 'focus', t, 1800);
  const coolerPower = clamp(45 + 1.8 * (w.temperature - 8) + 2 * smooth(seed, 'cooler', t, 300), 0, 100);
  const ccdTemp = -60 + 0.05 * smooth(seed, 'ccd', t, 30) + (coolerPower >= 100 ? 0.5 * (w.temperature - 38) : 0);
  return {
    state,
    metrics: {
      ra: round(eq.ra, 6),
      dec: round(eq.dec, 6),
      alt: round(alt, 4),
      az: round(az, 4),
      ha: round(ha, 4),
      airmass: round(airmass(alt), 4),
      domeAz: round(domeAz, 2),
      domeShutter: shutter,
      focus: round(focus, 1),
      ccdTemp: round(ccdTemp, 3),
      coolerPower: round(coolerPower, 1),
      followUp,
    },
  };
}
