/**
 * The TCS sky rules against an independent reference: astropy (Debian python3-astropy) AltAz at San
 * Pedro Mártir without refraction, over 300 times (2019–2023) and positions. Skips with a message when
 * astropy is absent (`gft test` installs it).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SAN_PEDRO_MARTIR as SPM, airmass, horizontal, moonHorizontal, sunHorizontal } from './sky.ts';

const PY = '/usr/bin/python3';
const SCRIPT = `
import json, sys, warnings
warnings.simplefilter('ignore')
from astropy.utils import iers
iers.conf.auto_download = False
iers.conf.iers_degraded_accuracy = 'warn'
from astropy.time import Time
from astropy.coordinates import EarthLocation, SkyCoord, AltAz, TETE, get_sun, get_body
import astropy.units as u
q = json.load(sys.stdin)
site = EarthLocation(lon=q['lon']*u.deg, lat=q['lat']*u.deg, height=q['height']*u.m)
t = Time([s['ms'] / 1000 for s in q['samples']], format='unix', scale='utc')
frame = AltAz(obstime=t, location=site, pressure=0*u.hPa)
icrs = SkyCoord(ra=[s['ra'] for s in q['samples']]*u.deg, dec=[s['dec'] for s in q['samples']]*u.deg, frame='icrs')
tgt = icrs.transform_to(frame)
ha = (t.sidereal_time('apparent', longitude=site.lon) - icrs.transform_to(TETE(obstime=t)).ra).wrap_at(180*u.deg)
sun = get_sun(t).transform_to(frame)
moon = get_body('moon', t, site).transform_to(frame)
print(json.dumps({'alt': list(tgt.alt.deg), 'az': list(tgt.az.deg), 'sun': list(sun.alt.deg), 'moon': list(moon.alt.deg), 'secz': [float(x) for x in tgt.secz], 'ha': list(ha.deg)}))
`;
const probe = spawnSync(PY, ['-c', 'import astropy'], { encoding: 'utf8' });
const haveAstropy = probe.status === 0;
if (!haveAstropy) console.warn(`SKIPPED TCS sky vs astropy: ${PY} has no astropy (apt-get install python3-astropy)`);

describe.skipIf(!haveAstropy)('TCS sky rules against astropy', () => {
  it('target altitude, azimuth and hour angle, Sun and Moon altitude within 0.1°; airmass within 1 % of sec z above 20°', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const start = Date.parse('2019-01-01T00:00:00Z');
    const span = Date.parse('2023-06-01T00:00:00Z') - start;
    const samples = Array.from({ length: 300 }, () => ({ ms: Math.round(start + rnd() * span), ra: rnd() * 360, dec: Math.asin(2 * rnd() - 1) / (Math.PI / 180) }));
    const r = spawnSync(PY, ['-c', SCRIPT], { input: JSON.stringify({ lon: SPM.lon, lat: SPM.lat, height: SPM.height, samples }), encoding: 'utf8', maxBuffer: 1 << 24 });
    expect(r.status, r.stderr).toBe(0);
    const ref = JSON.parse(r.stdout) as { alt: number[]; az: number[]; sun: number[]; moon: number[]; secz: number[]; ha: number[] };
    const worst = { alt: 0, az: 0, sun: 0, moon: 0, airmass: 0, ha: 0 };
    samples.forEach((s, i) => {
      const h = horizontal(s.ra, s.dec, s.ms);
      worst.alt = Math.max(worst.alt, Math.abs(h.alt - ref.alt[i]));
      if (Math.abs(s.dec) < 85) worst.ha = Math.max(worst.ha, Math.abs((((h.ha - ref.ha[i] + 540) % 360) - 180) * Math.cos(s.dec * (Math.PI / 180))));
      if (ref.alt[i] < 85) worst.az = Math.max(worst.az, Math.abs((((h.az - ref.az[i] + 540) % 360) - 180) * Math.cos(ref.alt[i] * (Math.PI / 180))));
      worst.sun = Math.max(worst.sun, Math.abs(sunHorizontal(s.ms).alt - ref.sun[i]));
      worst.moon = Math.max(worst.moon, Math.abs(moonHorizontal(s.ms).alt - ref.moon[i]));
      if (ref.alt[i] > 20) worst.airmass = Math.max(worst.airmass, Math.abs(airmass(h.alt) / ref.secz[i] - 1));
    });
    console.log(`TCS sky vs astropy over ${samples.length} times/positions: worst |Δalt| target ${worst.alt.toFixed(4)}°, |Δaz|cos(alt) ${worst.az.toFixed(4)}°, Sun ${worst.sun.toFixed(4)}°, Moon ${worst.moon.toFixed(4)}°; |Δ hour angle|cos(dec) ${worst.ha.toFixed(4)}°; airmass vs sec z above 20° ${(100 * worst.airmass).toFixed(2)} %`);
    expect(worst.alt).toBeLessThan(0.1);
    expect(worst.az).toBeLessThan(0.1);
    expect(worst.sun).toBeLessThan(0.1);
    expect(worst.moon).toBeLessThan(0.1);
    expect(worst.ha).toBeLessThan(0.1);
    expect(worst.airmass).toBeLessThan(0.01);
  }, 60_000);
});
