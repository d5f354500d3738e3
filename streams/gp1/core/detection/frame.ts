/**
 * GP1 per-frame chain: background → detection → measurement → astrometry → zero point → limiting
 * magnitude, on one calibrated frame. Pure (no I/O, no clock): the caller reads the FITS file and
 * builds a {@link CalibratedFrame}, e.g. with {@link frameFromHeader}.
 */
import { pixToSky, pixelScaleArcsec, wcsFromHeader, type HeaderReader, type TanWcs } from '../../../../lib/wcs/index.ts';
import { observationDate } from '../../../../lib/fits/observation.ts';
import type { MaskArray, Pixels } from './background.ts';
import { detectSources, type DetectionOptions, type FrameImage, type Source } from './detect.ts';
import { solveAstrometry, type AstrometryOptions, type CatalogStars } from './astrometry.ts';
import { fitZeroPoint, limitingMagnitude, medianPixelVariance, type ZeroPoint } from './photometry.ts';

export interface CalibratedFrame extends FrameImage {
  frameId: string;
  /** DATE-OBS, ISO UTC ending in Z: the start of the exposure (event time). */
  dateObs: string;
  /** Exposure time, s. */
  exptime: number;
  /** e−/ADU (for the source Poisson term). */
  gain?: number;
  /** Saturation, counts/s. */
  saturation?: number;
  /** Header WCS, possibly off by arcminutes; null = none usable. */
  wcs: TanWcs | null;
  /** Approximate centre / pixel scale for a blind solve (OBJCTRA/OBJCTDEC, the alert, …). */
  hint?: { ra: number; dec: number; scaleArcsec?: number; radiusArcmin?: number } | null;
}

export interface FrameConfig {
  detection?: DetectionOptions;
  astrometry?: AstrometryOptions;
  /** Minimum S/N of the stars used for the zero point (default 10). */
  zpMinSnr?: number;
  /** σ of the limiting magnitude (default 5). */
  limitSigma?: number;
}

export interface FrameSource extends Source {
  /** Sky position (degrees), NaN without astrometry. */
  ra: number;
  dec: number;
  /** 1σ position error, arcsec: centroid error ⊕ astrometric rms/√N(matched). */
  posErrArcsec: number;
  /** Calibrated magnitude and error (NaN without a zero point); the zero point error is not included. */
  mag: number;
  magErr: number;
  /** Index of the matched catalog star in the astrometric solution, −1 if none. */
  catalogIndex: number;
}

export interface FrameResult {
  frameId: string;
  dateObs: string;
  exptime: number;
  width: number;
  height: number;
  wcs: TanWcs | null;
  astrometry: { ok: boolean; method: 'header' | 'blind' | 'none'; matched: number; rmsArcsec: number; notes: string[] };
  zeroPoint: ZeroPoint;
  /** nσ limiting magnitude (NaN without zero point). */
  limitingMag: number;
  /**
   * Around bright stars (detect.ts wingZones): the limiting magnitude at each integer distance k from
   * the star (pixels; NaN where unknown), from the noise left after its model was subtracted. An upper
   * limit there is never deeper than this. Absent: none.
   */
  localLimits?: Array<{ x: number; y: number; radius: number; limits: number[] }>;
  /** Median stellar FWHM, pixels and arcsec. */
  fwhm: number;
  fwhmArcsec: number;
  apertureRadius: number;
  background: { level: number; rms: number };
  sources: FrameSource[];
}

/** Runs the per-frame chain (see module comment). */
export function processFrame(frame: CalibratedFrame, catalog: CatalogStars, cfg: FrameConfig = {}): FrameResult {
  const det = detectSources(frame, { gain: frame.gain, exptime: frame.exptime, saturation: frame.saturation, ...cfg.detection });
  const astro = solveAstrometry(det.sources, frame.width, frame.height, catalog, frame.wcs, { hint: frame.hint ?? null, fwhmPx: det.fwhm, ...cfg.astrometry });
  const wcs = astro.ok ? astro.wcs : frame.wcs;
  const zp = astro.ok ? fitZeroPoint(det.sources, catalog.mag, astro.sourceIndex, astro.catalogIndex, { minSnr: cfg.zpMinSnr }) : { zp: NaN, zpErr: NaN, scatter: NaN, nStars: 0 };
  const mpv = medianPixelVariance(frame.weight ? null : det.background.rms, frame.weight, frame.width * frame.height);
  const lim = Number.isFinite(zp.zp) ? limitingMagnitude(zp.zp, det.apertureRadius, mpv, cfg.limitSigma ?? 5) : NaN;
  const catOf = new Int32Array(det.sources.length).fill(-1);
  for (let k = 0; k < astro.sourceIndex.length; k++) catOf[astro.sourceIndex[k]] = astro.catalogIndex[k];
  const scale = wcs ? pixelScaleArcsec(wcs) : NaN;
  const sys2 = astro.ok ? (astro.rmsArcsec * astro.rmsArcsec) / Math.max(1, astro.matched) : 0;
  const sky = [0, 0];
  const sources: FrameSource[] = det.sources.map((s) => {
    let ra = NaN, dec = NaN;
    if (astro.ok && wcs) {
      pixToSky(wcs, s.x, s.y, sky);
      ra = sky[0];
      dec = sky[1];
    }
    const c = Math.sqrt(0.5 * (s.xErr * s.xErr + s.yErr * s.yErr)) * scale;
    const ok = s.flux > 0 && Number.isFinite(zp.zp);
    return {
      ...s,
      ra,
      dec,
      posErrArcsec: astro.ok ? Math.sqrt(c * c + sys2) : NaN,
      mag: ok ? zp.zp - 2.5 * Math.log10(s.flux) : NaN,
      magErr: ok ? (1.0857362 * s.fluxErr) / s.flux : NaN,
      catalogIndex: catOf[s.id],
    };
  });
  return {
    frameId: frame.frameId,
    dateObs: frame.dateObs,
    exptime: frame.exptime,
    width: frame.width,
    height: frame.height,
    wcs: astro.ok ? wcs : null,
    astrometry: { ok: astro.ok, method: astro.method, matched: astro.matched, rmsArcsec: astro.rmsArcsec, notes: astro.notes },
    zeroPoint: zp,
    limitingMag: lim,
    ...(det.wingZones?.length && Number.isFinite(zp.zp)
      ? { localLimits: det.wingZones.map((z) => ({ x: z.x, y: z.y, radius: z.radius, limits: Array.from(z.apertureNoise, (n) => (n > 0 ? zp.zp - 2.5 * Math.log10((cfg.limitSigma ?? 5) * n) : NaN)) })) }
      : {}),
    fwhm: det.fwhm,
    fwhmArcsec: det.fwhm * scale,
    apertureRadius: det.apertureRadius,
    background: { level: det.background.globalBackground, rms: det.background.globalRms },
    sources,
  };
}

/** Sexagesimal or decimal angle; `hours` multiplies by 15 when the value is sexagesimal or flagged as hours. */
export function parseAngle(v: string | number | undefined, hours: boolean): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  const s = v.trim();
  const m = /^([+-]?)(\d{1,3})[:\s hd]+(\d{1,2})[:\s m']+(\d{1,2}(?:\.\d*)?)\s*[s"]?$/i.exec(s);
  if (m) {
    const val = Number(m[2]) + Number(m[3]) / 60 + Number(m[4]) / 3600;
    return (m[1] === '-' ? -val : val) * (hours ? 15 : 1);
  }
  const d = Number(s);
  return Number.isFinite(d) ? d : undefined;
}

/** The observation start as ISO UTC (lib/fits observationDate: DATE-OBS, a date-only DATE-OBS + TIME-OBS/UT/…, DATE-BEG); undefined when absent or unreadable. */
export function isoDateObs(h: HeaderReader): string | undefined {
  const d = observationDate({ get: (k) => h.getString(k) ?? h.getNumber(k) });
  return d.ok ? d.iso : undefined;
}

/**
 * Pixel scale in arcsec/pixel from the header, when it says: PIXSCALE, SECPIX or PIXSCAL1, else the
 * pixel size and focal length (XPIXSZ µm, binned as written by MaxIm DL/N.I.N.A.; FOCALLEN mm):
 * 206.265 × XPIXSZ / FOCALLEN.
 */
export function headerPixelScale(h: HeaderReader): number | undefined {
  const direct = h.getNumber('PIXSCALE') ?? h.getNumber('SECPIX') ?? h.getNumber('PIXSCAL1');
  if (direct !== undefined && direct > 0) return direct;
  const px = h.getNumber('XPIXSZ'), fl = h.getNumber('FOCALLEN');
  return px !== undefined && fl !== undefined && px > 0 && fl > 0 ? (206.265 * px) / fl : undefined;
}

/** A header's hint with the scale filled from `fallback` when the header gives none (the camera's configured scale). */
export function withHintScale(hint: CalibratedFrame['hint'], fallback: CalibratedFrame['hint']): CalibratedFrame['hint'] {
  if (!hint) return fallback ?? null;
  return hint.scaleArcsec === undefined && fallback?.scaleArcsec !== undefined ? { ...hint, scaleArcsec: fallback.scaleArcsec } : hint;
}

/**
 * Builds a {@link CalibratedFrame} from a header and pixel arrays. Keywords: DATE-OBS (+TIME-OBS),
 * EXPTIME (or EXPOSURE), GAIN (or EGAIN), SATURATE (counts/s), the WCS, OBJCTRA/OBJCTDEC (or RA/DEC)
 * and the pixel scale ({@link headerPixelScale}) for the blind-match hint. Throws `Error` when EXPTIME
 * is missing, and when DATE-OBS is, unless `opts.requireDate` is false: the chain places a frame in its
 * epochs by event time, which cannot be guessed, but measuring one frame (a detection benchmark) needs
 * no date — `dateObs` is then '' and a note says so.
 */
export function frameFromHeader(
  h: HeaderReader,
  img: { width: number; height: number; data: Pixels; weight?: Pixels | null; mask?: MaskArray | null },
  frameId: string,
  opts: { requireDate?: boolean } = {},
): CalibratedFrame & { wcsNotes: string[]; notes: string[] } {
  const notes: string[] = [];
  let dateObs = isoDateObs(h);
  if (!dateObs) {
    const why = observationDate({ get: (k) => h.getString(k) ?? h.getNumber(k) });
    const reason = why.ok ? '' : `: ${why.reason}`;
    if (opts.requireDate ?? true) throw new Error(`${frameId}: no usable DATE-OBS${reason}`);
    notes.push(`no usable DATE-OBS${reason} (not needed to measure the frame)`);
    dateObs = '';
  }
  const exptime = h.getNumber('EXPTIME') ?? h.getNumber('EXPOSURE');
  if (exptime === undefined) throw new Error(`${frameId}: no EXPTIME`);
  const { wcs, notes: wcsNotes } = wcsFromHeader(h);
  const raV = h.getString('OBJCTRA') ?? h.getString('RA') ?? h.getNumber('RA');
  const ra = parseAngle(raV, typeof raV === 'string' && /\d[:\s hd]+\d/.test(raV.trim()));
  const dec = parseAngle(h.getString('OBJCTDEC') ?? h.getString('DEC') ?? h.getNumber('DEC'), false);
  const hint = ra !== undefined && dec !== undefined ? { ra, dec, scaleArcsec: headerPixelScale(h) } : null;
  return {
    frameId,
    dateObs,
    exptime,
    gain: h.getNumber('GAIN') ?? h.getNumber('EGAIN'),
    saturation: h.getNumber('SATURATE'),
    wcs,
    wcsNotes,
    notes,
    hint,
    width: img.width,
    height: img.height,
    data: img.data,
    weight: img.weight ?? null,
    mask: img.mask ?? null,
  };
}

/** A {@link HeaderReader} over plain header cards (keys case-insensitive), e.g. from a worker message. */
export function headerFromRecord(cards: Readonly<Record<string, string | number | boolean | null | undefined>>): HeaderReader {
  const m = new Map<string, string | number | boolean>();
  for (const [k, v] of Object.entries(cards)) if (v !== null && v !== undefined) m.set(k.trim().toUpperCase(), v);
  return {
    getNumber(key) {
      const v = m.get(key.toUpperCase());
      if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
      if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
      return undefined;
    },
    getString(key) {
      const v = m.get(key.toUpperCase());
      return v === undefined ? undefined : String(v);
    },
    has(key) {
      return m.has(key.toUpperCase());
    },
  };
}

/**
 * One calibrated frame as plain data, for a worker thread: structured-clone safe, the pixel arrays
 * transferable (pass their buffers in the transfer list).
 */
export interface FrameRequest {
  frameId: string;
  /** The calibrated frame's header cards, key → value (DATE-OBS, EXPTIME, GAIN, SATURATE, the WCS, OBJCTRA/OBJCTDEC, …). */
  header: Record<string, string | number | boolean | null>;
  width: number;
  height: number;
  /** Counts/s, row-major width × height. */
  data: Float32Array | Float64Array;
  /** Inverse variance; 0 = unusable. */
  weight?: Float32Array | Float64Array | null;
  /** Calibration bitmask (MASK bits); a float32 array as FITS reading gives is fine. */
  mask?: MaskArray | null;
  /** Blind-match hint when the header has no OBJCTRA/OBJCTDEC (e.g. the alert position and the camera's scale). */
  hint?: { ra: number; dec: number; scaleArcsec?: number; radiusArcmin?: number } | null;
  catalog: CatalogStars;
  config?: FrameConfig;
}

/**
 * Worker-callable {@link processFrame}: a {@link FrameRequest} in, the {@link FrameResult} out
 * (plain objects and numbers; NaN where a value does not exist, e.g. magnitudes without a zero point).
 * Throws `Error` when DATE-OBS or EXPTIME is missing (see {@link frameFromHeader}).
 */
export function measureFrameArrays(req: FrameRequest): FrameResult {
  const frame = frameFromHeader(headerFromRecord(req.header), { width: req.width, height: req.height, data: req.data, weight: req.weight ?? null, mask: req.mask ?? null }, req.frameId);
  frame.hint = withHintScale(frame.hint, req.hint);
  const { wcsNotes: _notes, ...f } = frame;
  return processFrame(f, req.catalog, req.config);
}
