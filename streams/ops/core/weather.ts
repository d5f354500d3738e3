/**
 * A weather-station simulation for a high, dry mountain site (San Pedro Mártir, 2790 m): every
 * quantity is a pure function of (seed, event time), built from a deterministic seasonal + diurnal
 * cycle and value noise (noise.ts), with the physical couplings an operator expects to see:
 *
 * - temperature T (°C): annual mean 8 °C, ±6 °C seasonal (coldest mid-January), ±5 °C diurnal with the
 *   maximum at 15 h local time, ±3 °C synoptic noise (periods of days), ±0.3 °C minute-scale noise;
 * - relative humidity RH (%): anti-correlated with the diurnal temperature swing, with slow synoptic
 *   changes; ≥ 95 % while it rains; dew point from the Magnus formula (a = 17.62, b = 243.12 °C);
 * - wind speed (m/s): slow regime noise plus gusts (minute scale), direction mostly westerly;
 *   `windGust` = the highest 3 s gust, ≥ the mean;
 * - pressure (hPa): ~730 hPa at this altitude (barometric), slow synoptic ±4 hPa plus the
 *   semi-diurnal atmospheric tide (±0.6 hPa, maxima near 10 h and 22 h local);
 * - sky quality (SQM, mag/arcsec²): 21.7 in astronomical night, brightening through twilight as the Sun
 *   rises (linear in Sun altitude between −18° and −6°), 0 in daylight; clouds brighten the sky by up to 1 mag;
 * - rain: episodes drawn per 6 h window (~3 % of windows), each 20 min to 3 h long; `rain` is 0/1 and
 *   `rainRate` in mm/h. Clouds precede and accompany rain.
 */
import { SAN_PEDRO_MARTIR, sunAltitude, type Site } from './astro.ts';
import { clamp, fbm, hash01, round, smooth } from './noise.ts';

export interface WeatherSample {
  temperature: number;
  humidity: number;
  dewPoint: number;
  windSpeed: number;
  windGust: number;
  windDirection: number;
  pressure: number;
  skyQuality: number;
  cloudCover: number;
  rain: number;
  rainRate: number;
}

const DAY = 86400;
const RAIN_WINDOW = 6 * 3600;

/** Whether it rains at tSec, and how hard (mm/h); episodes are decided per 6 h window. */
export function rainAt(seed: number, tSec: number): { raining: boolean; rate: number; cloudBoost: number } {
  const w = Math.floor(tSec / RAIN_WINDOW);
  let cloudBoost = 0;
  for (const k of [w - 1, w]) {
    if (hash01(seed, 'rain.window', k) >= 0.03) continue;
    const start = k * RAIN_WINDOW + hash01(seed, 'rain.start', k) * RAIN_WINDOW * 0.7;
    const dur = 1200 + hash01(seed, 'rain.duration', k) * (3 * 3600 - 1200);
    // clouds build up during the hour before and clear during the hour after
    const before = start - tSec;
    const after = tSec - (start + dur);
    if (tSec >= start && tSec < start + dur) {
      const rate = 0.5 + 6 * hash01(seed, 'rain.rate', k) * (0.6 + 0.4 * smooth(seed, 'rain.intensity', tSec, 300));
      return { raining: true, rate: Math.max(0.1, rate), cloudBoost: 1 };
    }
    if (before > 0 && before < 3600) cloudBoost = Math.max(cloudBoost, 1 - before / 3600);
    if (after > 0 && after < 3600) cloudBoost = Math.max(cloudBoost, 1 - after / 3600);
  }
  return { raining: false, rate: 0, cloudBoost };
}

/** Dew point (°C) from temperature (°C) and relative humidity (%), Magnus formula. */
export function dewPoint(t: number, rh: number): number {
  const a = 17.62;
  const b = 243.12;
  const g = Math.log(Math.max(rh, 0.1) / 100) + (a * t) / (b + t);
  return (b * g) / (a - g);
}

export function weatherSample(ms: number, seed = 1, site: Site = SAN_PEDRO_MARTIR): WeatherSample {
  const t = ms / 1000;
  const localHours = (((t / 3600 + site.utcOffsetHours) % 24) + 24) % 24;
  const dayOfYear = ((t / DAY) % 365.2422 + 365.2422) % 365.2422;
  const seasonal = -6 * Math.cos((2 * Math.PI * (dayOfYear - 15)) / 365.2422);
  const diurnal = 5 * Math.cos((2 * Math.PI * (localHours - 15)) / 24);
  const rain = rainAt(seed, t);
  const temperature = 8 + seasonal + diurnal + 3 * fbm(seed, 'temp.synoptic', t, 3 * DAY) + 0.3 * smooth(seed, 'temp.fast', t, 600) - 2 * rain.cloudBoost;

  let humidity = 35 - 3.5 * diurnal + 25 * fbm(seed, 'rh.synoptic', t, 2 * DAY) + 2 * smooth(seed, 'rh.fast', t, 900) + 40 * rain.cloudBoost;
  humidity = rain.raining ? clamp(95 + 4 * Math.abs(smooth(seed, 'rh.rain', t, 600)), 95, 100) : clamp(humidity, 3, 99);

  const regime = 4 + 3.5 * fbm(seed, 'wind.regime', t, 12 * 3600) + 3 * rain.cloudBoost;
  const windSpeed = Math.max(0, regime + 1.2 * smooth(seed, 'wind.fast', t, 60));
  const windGust = windSpeed + 1.5 * Math.abs(smooth(seed, 'wind.gust', t, 20)) + 0.2 * windSpeed;
  const windDirection = (((270 + 70 * fbm(seed, 'wind.dir', t, DAY) + 10 * smooth(seed, 'wind.dir.fast', t, 120)) % 360) + 360) % 360;

  // Barometric pressure at the site's elevation (scale height ~8.4 km) and its variations.
  const p0 = 1013.25 * Math.exp(-site.elevation / 8400);
  const tide = 0.6 * Math.cos((4 * Math.PI * (localHours - 10)) / 24);
  const pressure = p0 + 4 * fbm(seed, 'pressure', t, 4 * DAY, 2) + tide - 2 * rain.cloudBoost;

  const cloudCover = clamp(0.15 + 0.35 * fbm(seed, 'clouds', t, 8 * 3600) + rain.cloudBoost, 0, 1);
  const sun = sunAltitude(ms, site);
  const dark = 21.7 - 1.0 * cloudCover + 0.05 * smooth(seed, 'sqm', t, 300);
  const skyQuality = sun <= -18 ? dark : sun >= -6 ? 0 : clamp(dark * ((-6 - sun) / 12), 0, dark);

  return {
    temperature: round(temperature, 2),
    humidity: round(humidity, 1),
    dewPoint: round(dewPoint(temperature, humidity), 2),
    windSpeed: round(windSpeed, 2),
    windGust: round(windGust, 2),
    windDirection: round(windDirection, 1),
    pressure: round(pressure, 2),
    skyQuality: round(skyQuality, 2),
    cloudCover: round(cloudCover, 3),
    rain: rain.raining ? 1 : 0,
    rainRate: round(rain.rate, 2),
  };
}

/** Conditions under which the dome must stay closed (the TCS weather interlock). */
export function weatherUnsafe(w: WeatherSample): string | null {
  if (w.rain) return 'rain';
  if (w.humidity >= 85) return 'humidity';
  if (w.windGust >= 18) return 'wind';
  return null;
}
