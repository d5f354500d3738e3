import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { interpretCoordSystem } from './coordSystem.ts';
import { parseVoevent, isoUtc } from './parse.ts';
import { InvalidInput } from './errors.ts';
import { svomNotice } from './fixtures.ts';
import { repoRoot } from '../../../lib/config/platform.ts';

/** Every ordering of a list. */
function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

const TIMES = ['UTC', 'TT', 'TDB', 'TAI', 'GPS', 'TCG', 'TCB'];
const EQUATORIAL = ['ICRS', 'FK5'];
const OTHER_FRAMES = ['FK4', 'GALACTIC_II', 'ECLIPTIC', 'GEO_D', 'SUPER_GALACTIC'];
const REFS = ['GEO', 'TOPO', 'BARY'];

/** A SVOM notice whose coordinate system is written as given (id, optional href). */
function noticeWithSystem(id: string, href?: string, iso = '2026-01-01T00:10:00'): string {
  const xml = svomNotice({ burstId: 'sb26010101', packetType: 202, instrument: 'ECLAIRs', ra: 150.25, dec: -20.5, error: 0.1, isoTime: iso });
  return xml
    .replace('<AstroCoordSystem id="UTC-ICRS-GEO"/>', `<AstroCoordSystem id="${id}"${href ? ` xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="${href}"` : ''}/>`)
    .replace('coord_system_id="UTC-ICRS-GEO"', `coord_system_id="${id}"`);
}

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof InvalidInput ? e.code : `not InvalidInput: ${String(e)}`;
  }
  return 'no error';
}

describe('coordinate system names: STC tokens in any order', () => {
  it('every ordering of (time scale, frame, reference position) reads the same system', () => {
    let n = 0;
    for (const time of TIMES) for (const frame of [...EQUATORIAL, ...OTHER_FRAMES]) for (const ref of REFS) {
      for (const order of permutations([time, frame, ref])) {
        const s = interpretCoordSystem({ id: order.join('-') });
        expect(s, order.join('-')).toMatchObject({ timeScale: time, frame, refPosition: ref, frameAssumed: false, source: 'id' });
        expect(s.equatorial, order.join('-')).toBe(EQUATORIAL.includes(frame) ? frame : null);
        n++;
      }
    }
    expect(n).toBe(TIMES.length * 7 * REFS.length * 6);
  });

  it('two-token ids and aliases (TDT, ET, IAT, TEB, J2000) are read too', () => {
    expect(interpretCoordSystem({ id: 'ICRS-TT' })).toMatchObject({ timeScale: 'TT', equatorial: 'ICRS' });
    expect(interpretCoordSystem({ id: 'fk5-utc' })).toMatchObject({ timeScale: 'UTC', equatorial: 'FK5' });
    expect(interpretCoordSystem({ id: 'TDT-ICRS-GEO' }).timeScale).toBe('TT');
    expect(interpretCoordSystem({ id: 'GEO-ET-FK5' }).timeScale).toBe('TT');
    expect(interpretCoordSystem({ id: 'IAT-FK5-TOPO' }).timeScale).toBe('TAI');
    expect(interpretCoordSystem({ id: 'TEB-ICRS-BARY' }).timeScale).toBe('TDB');
    expect(interpretCoordSystem({ id: 'UTC-J2000-GEO' }).equatorial).toBe('FK5');
  });

  it('an id without STC names falls back to the xlink:href fragment, then to coord_system_id', () => {
    expect(interpretCoordSystem({ id: 'coords1', href: 'ivo://STClib/CoordSys#TT-FK5-TOPO/' })).toMatchObject({ timeScale: 'TT', frame: 'FK5', source: 'href' });
    expect(interpretCoordSystem({ id: 'coords1', href: 'ivo://STClib/CoordSys#UTC-GALACTIC_II-GEO' })).toMatchObject({ frame: 'GALACTIC_II', equatorial: null });
    expect(interpretCoordSystem({ id: 'sys', coordSystemId: 'GPS-ICRS-GEO' })).toMatchObject({ timeScale: 'GPS', source: 'coord_system_id' });
    // the id wins when it names a frame (the Fermi GBM case: id FK5-UTC-GEO, href UTC-FK5-GEO)
    expect(interpretCoordSystem({ id: 'FK5-UTC-GEO', href: 'ivo://STClib/CoordSys#UTC-FK5-GEO/' })).toMatchObject({ timeScale: 'UTC', frame: 'FK5', source: 'id' });
    // an id that names only a time scale still takes its frame from the href
    expect(interpretCoordSystem({ id: 'TT', href: 'ivo://STClib/CoordSys#UTC-FK4-GEO/' })).toMatchObject({ timeScale: 'UTC', frame: 'FK4', equatorial: null });
  });

  it('nothing names a frame: ICRS assumed, UTC assumed; two frames in one id are not a name', () => {
    expect(interpretCoordSystem({})).toEqual({ timeScale: 'UTC', frame: null, equatorial: 'ICRS', frameAssumed: true, refPosition: null, source: 'none' });
    expect(interpretCoordSystem({ id: 'my-system' })).toMatchObject({ equatorial: 'ICRS', frameAssumed: true });
    expect(interpretCoordSystem({ id: 'ICRS-FK4-UTC', href: '#UTC-FK5-GEO' })).toMatchObject({ frame: 'FK5', source: 'href' });
  });

  it('parseVoevent: the same notice with its system written in every order gives the same alert, or bad_value for a non-equatorial frame', () => {
    const ref = parseVoevent(noticeWithSystem('UTC-ICRS-GEO'));
    for (const frame of [...EQUATORIAL, ...OTHER_FRAMES]) for (const refPos of REFS) {
      for (const order of permutations(['UTC', frame, refPos])) {
        const id = order.join('-');
        if (EQUATORIAL.includes(frame)) {
          const a = parseVoevent(noticeWithSystem(id));
          expect({ ra: a.ra, dec: a.dec, t0: a.t0, err: a.errorRadiusDeg }, id).toEqual({ ra: ref.ra, dec: ref.dec, t0: ref.t0, err: ref.errorRadiusDeg });
          expect(a.coordSystem).toBe(id);
        } else {
          expect(code(() => parseVoevent(noticeWithSystem(id))), id).toBe('voevent.bad_value');
        }
      }
    }
  });

  it('parseVoevent: the time scale is taken from its token wherever it stands', () => {
    for (const time of TIMES) {
      const expected = isoUtc('2026-01-01T00:10:00', 't', time);
      for (const order of permutations([time, 'ICRS', 'GEO'])) {
        expect(parseVoevent(noticeWithSystem(order.join('-'))).t0, order.join('-')).toBe(expected);
      }
    }
    // TT − UTC = 69.184 s in 2026; TCG is ahead of TT by L_G·Δt (≈ 1.07 s in 2026), TCB of TDB by ≈ 23.9 s
    expect(isoUtc('2026-01-01T00:01:09.184', 't', 'TT')).toBe('2026-01-01T00:00:00.000Z');
    const tcg = Date.parse(isoUtc('2026-01-01T00:01:09.184', 't', 'TCG')!);
    expect(tcg - Date.parse('2026-01-01T00:00:00Z')).toBeCloseTo(-1077, -1);
    const tcb = Date.parse(isoUtc('2026-01-01T00:01:09.184', 't', 'TCB')!);
    expect(tcb - Date.parse('2026-01-01T00:00:00Z')).toBeCloseTo(-23_983, -2);
    expect(code(() => isoUtc('2026-01-01T00:00:00', 't', 'LST'))).toBe('voevent.bad_value');
    expect(isoUtc('2026-01-01T00:00:00+00:00', 't', 'LST')).toBe('2026-01-01T00:00:00.000Z');
  });

  it('parseVoevent: an id that is not an STC name uses the href', () => {
    expect(parseVoevent(noticeWithSystem('pos1', 'ivo://STClib/CoordSys#TT-FK5-GEO/')).t0).toBe(isoUtc('2026-01-01T00:10:00', 't', 'TT'));
    expect(code(() => parseVoevent(noticeWithSystem('pos1', 'ivo://STClib/CoordSys#UTC-FK4-GEO/')))).toBe('voevent.bad_value');
  });
});

describe('real packets of other missions (./testdata, third-party, see its README)', () => {
  const dir = join(repoRoot, 'streams', 'alerts', 'core', 'testdata');
  const read = (f: string) => readFileSync(join(dir, f));

  it('Fermi GBM flight position with AstroCoordSystem id "FK5-UTC-GEO" is a triggerable GRB position', () => {
    const a = parseVoevent(read('gcn_fermi_gbm_flt_pos_336801278.xml'));
    expect(a).toMatchObject({
      mission: 'Fermi', version: '1.1', packetType: 111, packetName: 'fermi-gbm-flt-pos', burstId: 'fermi-336801278', instrument: 'GBM',
      t0: '2011-09-04T03:54:36.020Z', ra: 193, dec: -31.75, errorRadiusDeg: 17.4333, positionKnown: true, coordSystem: 'FK5-UTC-GEO',
      grbStream: true, notGrbReason: null, positionIgnored: null, isTest: false, date: '2011-09-04T03:54:51.000Z',
      cites: [{ ivorn: 'ivo://nasa.gsfc.gcn/Fermi#GBM_Alert_2011-09-04T03:54:36.02_336801278_1-954', type: 'followup' }],
    });
  });

  it('Konus-Wind light curve: a GRB notice without a position (Coords_Type 0)', () => {
    expect(parseVoevent(read('gcn_konus_lightcurve_1721301681.xml'))).toMatchObject({
      mission: 'KONUS', packetType: 59, packetName: 'konus-lc', burstId: 'konus-1721301681', t0: '2015-07-10T00:28:01.680Z',
      ra: null, dec: null, positionKnown: false, grbStream: true, positionIgnored: 'no position in this notice (Coords_Type 0: unavailable/inappropriate)',
    });
  });

  it('MOA lensing and a Gaia alert: parsed, not GRB streams; Gaia times are TDB', () => {
    expect(parseVoevent(read('gcn_moa_lensing_201500354.xml'))).toMatchObject({ mission: 'MOA', packetType: 139, ra: 268.686, dec: -29.7073, errorRadiusDeg: null, grbStream: false });
    expect(parseVoevent(read('gaia_alert_gaia16aac.xml'))).toMatchObject({
      mission: 'unknown', coordSystem: 'TDB-ICRS-BARY', ra: 73.29423, dec: 7.35212, grbStream: false,
      t0: '2016-01-16T07:51:18.816Z', // 07:52:27 TDB − (36 + 32.184) s
    });
  });

  it('every packet in the folder parses', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.xml'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) expect(code(() => parseVoevent(read(f))), f).toBe('no error');
  });

  const shared = join(repoRoot, '..', 'shared', 'data', 'voevents');
  it.skipIf(!existsSync(shared))(`every packet of ../shared/data/voevents still parses${existsSync(shared) ? '' : ' — SKIPPED: ../shared/data/voevents absent'}`, () => {
    for (const f of readdirSync(shared).filter((x) => x.endsWith('.xml'))) expect(code(() => parseVoevent(readFileSync(join(shared, f)))), f).toBe('no error');
  });
});
