/**
 * What a raw camera frame says about its observation, whatever the writing software:
 *
 * - observationHeader: the keywords of the frame's image together with those of the primary header.
 *   Cameras and archives put the observation keywords (DATE-OBS, EXPTIME, FILTER, IMAGETYP) either in
 *   the image HDU itself, or in the primary header with the image in extension 1 (multi-extension files,
 *   and `.fits.fz` files compressed from them, where fpack keeps the primary header as it was). The image
 *   HDU's own keywords win; primary keywords fill in the rest (the FITS INHERIT convention, applied
 *   unless the extension says INHERIT = F, because raw-frame writers rarely set INHERIT).
 * - observationDate: the start of the exposure as ISO 8601 UTC with milliseconds.
 *
 * Dates (FITS Standard 4.0, section 9.1): DATE-OBS 'YYYY-MM-DDThh:mm:ss[.s…]' (any number of
 * fractional digits; rounded to the millisecond), a space instead of 'T', a trailing 'Z' or zone
 * offset, no seconds ('hh:mm'); a date-only DATE-OBS (or the pre-2000 'DD/MM/YY' form, 19YY)
 * completed by a time keyword: TIME-OBS, UT, UTC, UTSTART, UT-START or UTC-OBS ('hh:mm:ss[.s…]');
 * DATE-BEG (the FITS 4.0 name) or DATE_OBS when DATE-OBS is absent; with no DATE-OBS at all, a date-only
 * DATE plus one of those time keywords. DATE alone is the file's creation time, never the observation's.
 * Times without a zone are UTC; TIMESYS is not applied (raw frames are stamped in UTC).
 */
import { imageHeaderOf } from './compressed.ts';
import type { HduInfo } from './hdus.ts';
import { Header, normKey, type FitsCard } from './header.ts';

/** Keywords describing the primary HDU's own structure or checksums: never inherited. */
const STRUCTURAL = /^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|PCOUNT|GCOUNT|GROUPS|BZERO|BSCALE|BLANK|BUNIT|DATAMIN|DATAMAX|CHECKSUM|DATASUM|EXTNAME|EXTVER|EXTLEVEL|INHERIT|END|COMMENT|HISTORY|)$/;

/**
 * The keywords that describe the frame in `image` (an HDU of `hdus` holding image data): the image
 * header (for a compressed HDU, the uncompressed image's header), then every primary keyword it does not
 * have. For an image in the primary HDU, its header.
 */
export function observationHeader(hdus: HduInfo[], image: HduInfo): Header {
  const own = image.type === 'compressed-image' ? imageHeaderOf(image.header) : image.header;
  if (image.index === 0 || hdus.length === 0 || own.get('INHERIT') === false) return own;
  const have = new Set(own.cards.map((c) => normKey(c.key)));
  const inherited: FitsCard[] = [];
  for (const c of hdus[0].header.cards) {
    const k = normKey(c.key);
    if (STRUCTURAL.test(k) || have.has(k)) continue;
    have.add(k);
    inherited.push(c);
  }
  return new Header([...own.cards, ...inherited]);
}

export type ObservationDate =
  | { ok: true; /** ISO 8601 UTC, milliseconds, 'Z' */ iso: string; /** the keywords it came from, e.g. 'DATE-OBS + UT' */ source: string }
  | { ok: false; /** why there is no usable date, naming the keywords and values seen */ reason: string };

const TIME_KEYS = ['TIME-OBS', 'UT', 'UTC', 'UTSTART', 'UT-START', 'UTC-OBS'];
const FULL = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d*))?)?)?\s*(Z|UTC|UT|[+-]\d{2}:?\d{2})?$/i;
const OLD = /^(\d{2})\/(\d{2})\/(\d{2})$/;
const TIME = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d*))?)?\s*(Z|UTC|UT)?$/i;

interface Parts {
  y: number;
  mo: number;
  d: number;
  time?: { h: number; mi: number; s: number; frac: string; offsetMin: number };
}

function zoneMinutes(z: string | undefined): number {
  if (!z || /^(Z|UTC|UT)$/i.test(z)) return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(z);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

function parseDate(v: string): Parts | undefined {
  const s = v.trim();
  const m = FULL.exec(s);
  if (m) {
    const p: Parts = { y: Number(m[1]), mo: Number(m[2]), d: Number(m[3]) };
    if (m[4] !== undefined) p.time = { h: Number(m[4]), mi: Number(m[5]), s: Number(m[6] ?? 0), frac: m[7] ?? '', offsetMin: zoneMinutes(m[8]) };
    return p;
  }
  const o = OLD.exec(s);
  if (o) return { y: 1900 + Number(o[3]), mo: Number(o[2]), d: Number(o[1]) };
  return undefined;
}

function parseTime(v: string): Parts['time'] | undefined {
  const m = TIME.exec(v.trim());
  return m ? { h: Number(m[1]), mi: Number(m[2]), s: Number(m[3] ?? 0), frac: m[4] ?? '', offsetMin: 0 } : undefined;
}

/** Milliseconds since 1970 of valid parts; undefined when a field is out of range (month 13, 25:00, …). */
function toMs(p: Parts): number | undefined {
  const t = p.time;
  if (!t) return undefined;
  const dim = new Date(Date.UTC(p.y, p.mo, 0)).getUTCDate();
  if (p.mo < 1 || p.mo > 12 || p.d < 1 || p.d > dim || t.h > 23 || t.mi > 59 || t.s > 60) return undefined;
  // Leap second 60 rolls over into the next minute; fractions rounded to the millisecond.
  return Date.UTC(p.y, p.mo - 1, p.d, t.h, t.mi, t.s) + Math.round(Number(`0.${t.frac || '0'}`) * 1000) - t.offsetMin * 60_000;
}

function text(h: Pick<Header, 'get'>, key: string): string | undefined {
  const v = h.get(key);
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  return undefined;
}

/** The observation start of a frame (see the module comment for the keywords and forms accepted). */
export function observationDate(h: Pick<Header, 'get'>): ObservationDate {
  const bad = (reason: string): ObservationDate => ({ ok: false, reason });
  const timeKey = () => TIME_KEYS.find((k) => text(h, k) !== undefined);
  const withTime = (p: Parts, dateKey: string): ObservationDate => {
    const tk = timeKey();
    if (!tk) return bad(`${dateKey} '${text(h, dateKey)}' holds a date without a time, and there is no ${TIME_KEYS.join('/')} keyword`);
    const t = parseTime(text(h, tk) as string);
    if (!t) return bad(`${tk} '${text(h, tk)}' is not a time of day (hh:mm:ss[.s])`);
    const ms = toMs({ ...p, time: t });
    if (ms === undefined) return bad(`${dateKey} '${text(h, dateKey)}' with ${tk} '${text(h, tk)}' is not a valid date and time`);
    return { ok: true, iso: new Date(ms).toISOString(), source: `${dateKey} + ${tk}` };
  };
  for (const key of ['DATE-OBS', 'DATE-BEG', 'DATE_OBS']) {
    const raw = h.get(key);
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) continue;
    if (typeof raw !== 'string') return bad(`${key} is ${JSON.stringify(raw)}, not a date string`);
    const p = parseDate(raw);
    if (!p) return bad(`${key} '${raw.trim()}' is not a date (expected YYYY-MM-DDThh:mm:ss[.s])`);
    if (!p.time) return withTime(p, key);
    const ms = toMs(p);
    if (ms === undefined) return bad(`${key} '${raw.trim()}' is not a valid date and time`);
    return { ok: true, iso: new Date(ms).toISOString(), source: key };
  }
  const date = text(h, 'DATE');
  const dp = date !== undefined ? parseDate(date) : undefined;
  if (dp && !dp.time && timeKey()) return withTime(dp, 'DATE');
  return bad(`no DATE-OBS (nor DATE-BEG, nor a date-only DATE-OBS/DATE with ${TIME_KEYS.join('/')})${date ? `; DATE '${date}' is when the file was written, not the observation` : ''}`);
}
