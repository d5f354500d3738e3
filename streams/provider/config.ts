import { ConfigError, field, loadConfig } from '../../lib/config/define.ts';

export const PACINGS = ['date-obs', 'interval'] as const;
export type Pacing = (typeof PACINGS)[number];

export const providerSchema = {
  images: field<string>({ env: 'GFT_PROVIDER_IMAGES', type: 'string', doc: 'Raw FITS frames to inject when a burst is triggered: one folder, a root with a folder per burst id, or a template with {burstId}, {date} (T0, YYYYMMDD) or {night} (T0 - 12 h) (streams/provider/README.md)', default: '' }),
  pacing: field<string>({
    env: 'GFT_PROVIDER_PACING',
    type: 'string',
    doc: 'Object-frame schedule: date-obs = the DATE-OBS spacing of the frames divided by the speed (the night as observed); interval = one frame every GFT_PROVIDER_INTERVAL_S / speed',
    default: 'date-obs',
  }),
  intervalS: field<number>({ env: 'GFT_PROVIDER_INTERVAL_S', type: 'number', doc: 'Seconds between object frames with pacing=interval (DC3: 60)', default: 60, min: 0 }),
  speed: field<number>({ env: 'GFT_PROVIDER_SPEED', type: 'number', doc: 'Speed factor over real time (60 = a minute of the night per second); 0 = as fast as possible', default: 0, min: 0 }),
  camera: field<string>({ env: 'GFT_PROVIDER_CAMERA', type: 'string', doc: 'Camera name recorded on frames (empty: INSTRUME, else C<n> of the file name)', default: '' }),
  bitpix: field<string[]>({ env: 'GFT_PROVIDER_BITPIX', type: 'list', doc: 'BITPIX values accepted for raw frames (comma-separated; 16 and 32 = integer camera formats)', default: ['16', '32'] }),
  checkPixels: field<boolean>({ env: 'GFT_PROVIDER_CHECK_PIXELS', type: 'boolean', doc: 'Read pixels to reject NaN-filled frames and undecodable data', default: true }),
};

export interface ProviderConfig {
  images: string;
  pacing: Pacing;
  intervalS: number;
  speed: number;
  camera: string;
  bitpix: number[];
  checkPixels: boolean;
}

export function providerConfig(env: Record<string, string | undefined> = process.env): ProviderConfig {
  const c = loadConfig(providerSchema, env);
  if (!(PACINGS as readonly string[]).includes(c.pacing)) throw new ConfigError(`invalid configuration:\n  GFT_PROVIDER_PACING: expected ${PACINGS.join(' or ')}, got '${c.pacing}'`);
  const bitpix = c.bitpix.map(Number);
  const bad = c.bitpix.filter((b, i) => ![8, 16, 32, -32, -64].includes(bitpix[i]));
  if (bad.length || !bitpix.length) throw new ConfigError(`invalid configuration:\n  GFT_PROVIDER_BITPIX: expected BITPIX values among 8, 16, 32, -32, -64, got '${c.bitpix.join(',')}'`);
  return { ...c, pacing: c.pacing as Pacing, bitpix };
}
