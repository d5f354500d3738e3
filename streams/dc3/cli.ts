/** `npx gft dc3`: the DC3 data challenge end to end on the local stack (installs and starts it). */
import { join } from 'node:path';
import { parseArgs, formatHelp, type CommandSpec } from '../../lib/cli/args.ts';
import { repoRoot } from '../../lib/config/platform.ts';
import { runDc3 } from './run.ts';

export const summary = 'run the DC3 data challenge end to end (VOEvent → … → SDB) on the local stack';

const spec: CommandSpec = {
  usage: 'gft dc3 [--images DIR --alert FILE.xml --catalog FILE.csv] [--out DIR] [--speed N | --realtime] [--seed N]',
  description: 'Without --images, generates a synthetic COATLI night (deterministic by --seed). Writes summary.json and the files produced into --out.',
  options: {
    images: { type: 'string', description: 'directory of raw FITS frames (calibrations + object frames)' },
    alert: { type: 'string', description: 'the burst VOEvent (XML)' },
    catalog: { type: 'string', description: 'reference star catalog CSV (ra,dec,mag[,band])' },
    camera: { type: 'string', description: 'camera description for GP1', default: 'coatli' },
    out: { type: 'string', description: 'output folder', default: '' },
    namespace: { type: 'string', description: 'run namespace (default dc3-<time>)', default: '' },
    speed: { type: 'number', description: 'speed over real time (60 = a frame per second); 0 = as fast as possible', default: 0 },
    realtime: { type: 'boolean', description: 'one frame per minute (speed 1)', default: false },
    seed: { type: 'number', description: 'synthetic night seed', default: 1 },
    frames: { type: 'number', description: 'object frames of the synthetic night', default: 60 },
    width: { type: 'number', description: 'synthetic frame width (default COATLI 2184)' },
    height: { type: 'number', description: 'synthetic frame height (default 1472)' },
    timeout: { type: 'number', description: 'give up after N seconds', default: 1800 },
  },
};

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  if (a.help) {
    console.log(formatHelp(spec));
    return 0;
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
  const ns = String(a.options.namespace || `dc3-${stamp.toLowerCase()}`);
  const out = String(a.options.out || join(repoRoot, 'out', ns));
  const s = await runDc3({
    out, namespace: ns, images: a.options.images as string | undefined, alert: a.options.alert as string | undefined, catalog: a.options.catalog as string | undefined,
    camera: String(a.options.camera), speed: a.options.realtime ? 1 : Number(a.options.speed), seed: Number(a.options.seed), frames: Number(a.options.frames),
    width: a.options.width as number | undefined, height: a.options.height as number | undefined, timeoutS: Number(a.options.timeout),
    log: (l) => console.error(`[dc3] ${l}`),
  });
  console.log(JSON.stringify(s, null, 1));
  console.error(`\nsummary written to ${join(out, 'summary.json')}`);
  const epochs = (s.epochs as unknown[]).length;
  return epochs > 0 ? 0 : 1;
}
