/**
 * Header cards of the GP1 base file's CANDIDATES table (`gp1_<burst>_T0+<n>min_r<rev>.fits`, written by
 * streams/gp1/detectionWiring.ts `baseFile`). Valid FITS: fitsverify 0 errors / 0 warnings, astropy
 * verify('exception') (streams/fitsOutputs.test.ts).
 *
 * The epoch's time is `EPOCH_T`, as in the GIC products, not `EPOCH`: FITS reserves EPOCH for the
 * equinox of the coordinates, a number (fitsverify: "EPOCH: value … is not a floating point number";
 * issue 16). Date strings follow the FITS date format (`YYYY-MM-DDThh:mm:ss.sss`, no zone letter) with
 * `TIMESYS = 'UTC'` saying their time scale.
 */
import type { FitsCard } from '../../../../lib/fits/index.ts';
import type { EpochCandidates } from './candidates.ts';

/** ISO 8601 with a zone (`…Z`) → the FITS date format (UTC, milliseconds, no zone). */
export function fitsDate(iso: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) throw new Error(`not a date: '${iso}'`);
  return new Date(t).toISOString().replace(/Z$/, '');
}

export function baseFileCards(burstId: string, e: Pick<EpochCandidates, 'epoch' | 'epochSec' | 'revision'>): FitsCard[] {
  return [
    { key: 'BURST_ID', value: burstId, comment: 'SVOM burst id' },
    { key: 'TIMESYS', value: 'UTC', comment: 'time scale of the date strings' },
    { key: 'EPOCH_T', value: fitsDate(e.epoch), comment: 'T0 + EPOCHSEC (UTC)' },
    { key: 'EPOCHSEC', value: e.epochSec, comment: '[s] epoch after T0' },
    { key: 'REVISION', value: e.revision, comment: 'frames used: count-digest' },
  ];
}
