import { field, loadConfig } from '../../lib/config/define.ts';

export const providerSchema = {
  images: field<string>({ env: 'GFT_PROVIDER_IMAGES', type: 'string', doc: 'Directory of raw FITS frames to inject when a burst is triggered', default: '' }),
  intervalS: field<number>({ env: 'GFT_PROVIDER_INTERVAL_S', type: 'number', doc: 'Nominal seconds between object frames (DC3: 60)', default: 60, min: 0 }),
  speed: field<number>({ env: 'GFT_PROVIDER_SPEED', type: 'number', doc: 'Speed factor over real time (60 = one DC3 frame per second); 0 = as fast as possible', default: 0, min: 0 }),
  camera: field<string>({ env: 'GFT_PROVIDER_CAMERA', type: 'string', doc: 'Camera name recorded on frames (empty: from INSTRUME)', default: '' }),
  checkPixels: field<boolean>({ env: 'GFT_PROVIDER_CHECK_PIXELS', type: 'boolean', doc: 'Read pixels to reject NaN-filled frames', default: true }),
};

export type ProviderConfig = ReturnType<typeof providerConfig>;
export const providerConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(providerSchema, env);
