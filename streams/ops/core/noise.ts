/**
 * Deterministic, stateless randomness for the telemetry simulators: every value is a pure function
 * of (seed, channel, time), so a sample for any event time can be computed on its own, in any order,
 * and two runs with the same seed give the same telemetry byte for byte (no Math.random, no state
 * carried between ticks, no dependence on the tick rate).
 *
 * - `hash01(seed, channel, i)`: a uniform deviate in [0, 1) from a 32-bit integer hash (splitmix32-like
 *   finaliser over the mixed inputs).
 * - `smooth(seed, channel, tSec, periodSec)`: value noise in [-1, 1], continuous in t: hashed knots
 *   every `periodSec`, joined by a C¹ smoothstep; a few octaves (`fbm`) give weather-like variation.
 */

/** 32-bit FNV-1a of a string: turns a channel name into a hash input. */
export function channelId(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Uniform in [0, 1) for integer knot `i` (any safe integer, negative too) of a channel. */
export function hash01(seed: number, channel: string | number, i: number): number {
  const c = typeof channel === 'string' ? channelId(channel) : channel >>> 0;
  const lo = i >>> 0;
  const hi = Math.floor(i / 4294967296) >>> 0;
  let h = mix((seed >>> 0) ^ 0x9e3779b9);
  h = mix(h ^ c);
  h = mix(h ^ lo);
  h = mix(h ^ hi ^ 0x27d4eb2f);
  return h / 4294967296;
}

/** Uniform in [-1, 1). */
export function hashSigned(seed: number, channel: string | number, i: number): number {
  return hash01(seed, channel, i) * 2 - 1;
}

/** Value noise in [-1, 1], continuous in t (seconds), knots every periodSec seconds. */
export function smooth(seed: number, channel: string, tSec: number, periodSec: number): number {
  const c = channelId(channel);
  const x = tSec / periodSec;
  const k = Math.floor(x);
  const f = x - k;
  const s = f * f * (3 - 2 * f);
  const a = hashSigned(seed, c, k);
  const b = hashSigned(seed, c, k + 1);
  return a + (b - a) * s;
}

/** Fractal value noise: octaves of `smooth` with halving period and amplitude, normalised to [-1, 1]. */
export function fbm(seed: number, channel: string, tSec: number, periodSec: number, octaves = 3): number {
  let sum = 0;
  let norm = 0;
  let amp = 1;
  let p = periodSec;
  for (let o = 0; o < octaves; o++) {
    sum += amp * smooth(seed, `${channel}#${o}`, tSec, p);
    norm += amp;
    amp *= 0.5;
    p *= 0.5;
  }
  return sum / norm;
}

/** Rounds to `digits` decimals, so published values do not carry float noise. */
export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
