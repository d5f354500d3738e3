/**
 * Bits of the calibrated frame's MASK extension (uint8). The detection stage reads the same values
 * (streams/gp1/core/detection/detect.ts `MASK`); changing one is a format change.
 */
export const MASK = {
  /** Hot pixel: master dark rate above its hot threshold. */
  HOT: 1,
  /** Flat below the camera's lowFlat: weight 0, value 0. */
  LOW_FLAT: 2,
  /** Raw value ≥ the saturation level. */
  SATURATED: 4,
  /** Cosmic-ray hit (cosmic.ts). */
  COSMIC: 8,
} as const;
