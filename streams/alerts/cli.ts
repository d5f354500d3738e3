/** `gft voevent parse FILE…`: the parsed alert as JSON and what the alert manager does with it. */
import { readFileSync } from 'node:fs';
import { parseArgs, formatHelp, UsageError, type CommandSpec } from '../../lib/cli/args.ts';
import { parseVoevent } from './core/parse.ts';
import { applyAlert, DEFAULT_MANAGER, type BurstState } from './core/manager.ts';

export const summary = 'VOEvents: voevent parse FILE… | voevent send FILE|DIR|- (to voevent.raw)';

const spec: CommandSpec = {
  usage: 'gft voevent parse [--sequence] [--max-error DEG] FILE… | gft voevent send [--namespace NS] FILE|DIR|-',
  description: 'Prints one JSON object per file. Each file is applied to an empty burst state, or with --sequence to one state per burst, in the order given.',
  options: {
    sequence: { type: 'boolean', description: 'apply the files in order to shared burst states', default: false },
    namespace: { type: 'string', description: 'run namespace for send', default: '' },
    'max-error': { type: 'number', description: 'largest error radius that triggers (deg)', default: DEFAULT_MANAGER.maxErrorRadiusDeg },
  },
};

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  const [sub, ...files] = a.positionals;
  if (sub === 'send' && files.length) {
    const { TopicProducer } = await import('../../lib/runtime/producer.ts');
    const { publishFiles, publishStdin } = await import('../../connectors/voevent/intake.ts');
    const p = new TopicProducer(String(a.options.namespace || process.env.GFT_NAMESPACE || ''));
    try {
      if (files[0] === '-') await publishStdin(p);
      else console.log(`sent ${await publishFiles(p, files)} VOEvents to voevent.raw`);
    } finally {
      await p.disconnect();
    }
    return 0;
  }
  if (a.help || sub !== 'parse' || !files.length) {
    if (a.help) {
      console.log(formatHelp(spec));
      return 0;
    }
    throw new UsageError(formatHelp(spec));
  }
  const states = new Map<string, BurstState>();
  let failed = 0;
  for (const f of files) {
    try {
      const p = parseVoevent(readFileSync(f));
      const d = applyAlert(a.options.sequence ? states.get(p.burstId) : undefined, p, { maxErrorRadiusDeg: Number(a.options['max-error']) });
      if (a.options.sequence) states.set(p.burstId, d.state);
      console.log(JSON.stringify({
        file: f, ivorn: p.ivorn, burstId: p.burstId, packetType: p.packetType, packetName: p.packetName, role: p.role, isTest: p.isTest,
        instrument: p.instrument, t0: p.t0, ra: p.ra, dec: p.dec, errorRadiusDeg: p.errorRadiusDeg, noticeLevel: p.noticeLevel, slewStatus: p.slewStatus,
        cites: p.cites, action: d.action, reason: d.reason,
      }, null, 1));
    } catch (e) {
      failed++;
      console.error(`gft voevent: ${f}: ${(e as { code?: string }).code ?? 'error'}: ${(e as Error).message}`);
    }
  }
  return failed ? 1 : 0;
}
