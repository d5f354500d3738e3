/**
 * Where a burst's raw frames are (issue 22: inputs per burst, a season without restarts). The
 * configured images path (GFT_PROVIDER_IMAGES) is one of:
 * - a template: `{burstId}`, `{date}` (T0's UTC date, YYYYMMDD) and `{night}` (the date of the
 *   evening the night began: T0 − 12 h, UTC, YYYYMMDD) are replaced, e.g. `/data/nights/{night}/raw`;
 * - a root holding a folder per burst id (`<root>/<burstId>/` is used when it exists);
 * - one folder for every burst (DC3).
 * Pure: the caller says which folders exist.
 */

const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');

export const IMAGES_PLACEHOLDERS = ['{burstId}', '{date}', '{night}'] as const;

/** The folder of a burst's frames, or an error message saying what is missing. */
export function burstImagesDir(configured: string, burst: { burstId: string; t0: string | null }, isDir: (p: string) => boolean): { dir: string; rule: string } | { error: string } {
  if (IMAGES_PLACEHOLDERS.some((p) => configured.includes(p))) {
    const t0 = burst.t0 ? Date.parse(burst.t0) : NaN;
    if ((configured.includes('{date}') || configured.includes('{night}')) && !Number.isFinite(t0)) return { error: `burst ${burst.burstId} has no T0: cannot fill {date}/{night} of ${configured}` };
    const dir = configured.replaceAll('{burstId}', burst.burstId).replaceAll('{date}', Number.isFinite(t0) ? ymd(t0) : '').replaceAll('{night}', Number.isFinite(t0) ? ymd(t0 - 12 * 3_600_000) : '');
    return isDir(dir) ? { dir, rule: 'template' } : { error: `no images folder for burst ${burst.burstId}: ${dir} (from ${configured}) is not a folder` };
  }
  const perBurst = `${configured.replace(/\/+$/, '')}/${burst.burstId}`;
  if (isDir(perBurst)) return { dir: perBurst, rule: 'folder per burst' };
  if (isDir(configured)) return { dir: configured, rule: 'one folder' };
  return { error: `images folder ${configured} is not a folder` };
}
