/**
 * The CLI's conventions (issue 16): `gft --version`; help without `(default: )`, `(default: false)` or a
 * default said twice, placeholders that say what a value is; a suggestion for a misspelt option,
 * subcommand or command; usage on stderr (exit 2) when a subcommand is missing; `gft fits info` as an
 * astropy-like table on a terminal and JSON lines (one shape, whatever the number of files) otherwise.
 */
import { describe, it, expect, vi, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { didYouMean, formatHelp, parseArgs, placeholderOf, UsageError, type CommandSpec } from './args.ts';
import { main, version } from './main.ts';
import { writeFits } from '../fits/index.ts';
import { repoRoot } from '../config/platform.ts';

/** Runs `gft …` in-process, capturing stdout and stderr. */
async function gft(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

const SPEC: CommandSpec = {
  usage: 'gft x [options]',
  options: {
    out: { type: 'string', description: 'output folder' },
    report: { type: 'string', description: 'write the JSON report to this file' },
    frames: { type: 'number', description: 'object frames', default: 60 },
    namespace: { type: 'string', description: 'run namespace', default: '' },
    camera: { type: 'string', description: 'camera description', default: 'coatli' },
    speed: { type: 'number', description: 'speed over real time (default: as fast as possible)', default: 0 },
    json: { type: 'boolean', description: 'print JSON' },
    quiet: { type: 'boolean', description: 'say less', default: false },
    stack: { type: 'boolean', description: 'start the stack first', default: true },
    'from-time': { type: 'string', description: 'first message time' },
  },
};

describe('help text', () => {
  const help = formatHelp(SPEC);
  it('placeholders say what a value is: <DIR>, <FILE>, <N>, <TIME>, else the name in capitals; never <value>', () => {
    expect(help).toMatch(/--out <DIR>/);
    expect(help).toMatch(/--report <FILE>/);
    expect(help).toMatch(/--frames <N>/);
    expect(help).toMatch(/--from-time <TIME>/);
    expect(help).toMatch(/--camera <CAMERA>/);
    expect(help).not.toMatch(/<value>|<n>/);
    expect(placeholderOf('hdu', { type: 'string', description: 'HDU', placeholder: 'N|EXTNAME' })).toBe('N|EXTNAME');
  });
  it('a default is shown once, and only when there is one', () => {
    expect(help).not.toMatch(/\(default: \)/);
    expect(help).not.toMatch(/\(default: false\)/);
    expect(help).toMatch(/--frames <N> +object frames \(default: 60\)/);
    expect(help).toMatch(/--camera <CAMERA> +camera description \(default: coatli\)/);
    expect(help.match(/default/g)!.length).toBe(4); // frames, camera, speed (in its description only), stack
    expect(help).toMatch(/--\[no-\]stack +start the stack first \(default: on\)/);
    expect(help).toMatch(/--help +show this help/);
  });
  it('every gft command and subcommand help follows them', async () => {
    const commands = ['stack', 'topics', 'db', 'test', 'dc3', 'replay', 'voevent', 'simulate night', 'gp1 masters', 'gp1 calibrate', 'gp1 detect', 'fits info', 'fits verify', 'fits header', 'web', 'ops simulate', 'stage'];
    for (const c of commands) {
      const r = await gft(...c.split(' '), '--help');
      expect(r.code, `${c}: ${r.err}`).toBe(0);
      expect(r.out, c).toMatch(/^usage: /);
      expect(r.out, c).not.toMatch(/\(default: \)|\(default: false\)|<value>|<n>/);
    }
  });
});

describe('suggestions and usage errors', () => {
  it('didYouMean: the nearest candidate, transpositions included; nothing when far or ambiguous', () => {
    expect(didYouMean('spede', ['speed', 'seed', 'frames'])).toBe('speed'); // transposition
    expect(didYouMean('frams', ['speed', 'seed', 'frames'])).toBe('frames');
    expect(didYouMean('sped', ['speed', 'seed'])).toBeUndefined(); // as close to both
    expect(didYouMean('colour', ['speed', 'frames'])).toBeUndefined();
    expect(didYouMean('head', ['header', 'info', 'verify'])).toBe('header'); // the only one it begins
  });

  it('a misspelt option names the nearest one (and --no-x for booleans)', () => {
    expect(() => parseArgs(['--frmes', '3'], SPEC)).toThrow(/unknown option --frmes \(did you mean --frames\?\)/);
    expect(() => parseArgs(['--no-stak'], SPEC)).toThrow(/did you mean --no-stack\?/);
    expect(() => parseArgs(['--zzzzzz'], SPEC)).toThrow(UsageError);
    expect(() => parseArgs(['--zzzzzz'], SPEC)).not.toThrow(/did you mean/);
  });

  it('gft: --version, misspelt commands and subcommands, missing subcommands', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const r = await gft(flag);
      expect(r.code).toBe(0);
      expect(r.out).toBe(version());
      expect(r.out).toMatch(new RegExp(`^gft ${pkg.version.replace(/\./g, '\\.')} `));
    }
    expect(await gft('tset')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown command 'tset' \(did you mean 'test'\?\)/) });
    expect(await gft('--verison')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown option '--verison' \(did you mean 'version'\?\)|unknown option '--verison'/) });
    expect(await gft('fits', 'infoo', 'x.fits')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown subcommand 'infoo' \(did you mean 'info'\?\)/) });
    expect(await gft('gp1', 'mastres')).toMatchObject({ code: 2, err: expect.stringMatching(/did you mean 'masters'\?/) });
    // usage when a subcommand is missing: on stderr, exit 2, nothing on stdout
    for (const c of ['fits', 'gp1', 'simulate', 'topics', 'db', 'stack']) {
      const r = await gft(c);
      expect(r.code, c).toBe(2);
      expect(r.out, c).toBe('');
      expect(r.err, c).toMatch(/usage: /);
    }
    // and with no command at all
    expect(await gft()).toMatchObject({ code: 2, out: '', err: expect.stringMatching(/^usage: npx gft <command>/) });
    expect(await gft('--help')).toMatchObject({ code: 0, err: '', out: expect.stringMatching(/--version/) });
  });
});

describe('gft fits info', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gft-fitsinfo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const a = join(dir, 'a.fits');
  const b = join(dir, 'b.fits.fz');
  const px = Float32Array.from({ length: 40 * 30 }, (_, i) => 1000 + (i % 17));
  writeFileSync(a, writeFits([{ kind: 'image', bitpix: 16, bzero: 32768, width: 40, height: 30, data: px, cards: [{ key: 'DATE-OBS', value: '2024-01-01T00:00:00' }, { key: 'EXPTIME', value: 30 }] }, { kind: 'table', extname: 'CAT', columns: [{ name: 'RA', format: 'D', values: [1, 2, 3] }, { name: 'N', format: 'J', values: [1, 2, 3] }] }]));
  writeFileSync(b, writeFits([{ kind: 'image', bitpix: 16, bzero: 32768, width: 40, height: 30, data: px }], { compress: 'rice' }));

  it('JSON lines, one object per file, the same shape for one file or several (and for a file that fails)', async () => {
    const one = await gft('fits', 'info', '--json', a);
    const two = await gft('fits', 'info', '--json', a, b, join(dir, 'missing.fits'));
    expect(one.code).toBe(0);
    expect(two.code).toBe(1); // one file could not be read
    const l1 = one.out.split('\n').map((l) => JSON.parse(l));
    const l2 = two.out.split('\n').map((l) => JSON.parse(l));
    expect(l1).toHaveLength(1);
    expect(l2).toHaveLength(3);
    const keys = ['bytes', 'error', 'file', 'hdus', 'observation'];
    for (const o of [...l1, ...l2]) expect(Object.keys(o).sort()).toEqual(keys);
    expect(l2[0]).toEqual(l1[0]);
    expect(l1[0]).toMatchObject({ file: a, error: null, observation: { hdu: 0, dateObs: '2024-01-01T00:00:00.000Z', from: 'DATE-OBS' } });
    expect(l1[0].hdus.map((h: { type: string }) => h.type)).toEqual(['image', 'bintable']);
    expect(l2[1]).toMatchObject({ error: null, observation: { hdu: 1, dateObs: null } });
    expect(l2[2]).toMatchObject({ file: join(dir, 'missing.fits'), hdus: [], observation: null, error: { code: 'IO' } });
    expect(two.err).toMatch(/gft fits: IO: cannot open .*missing\.fits/);
    // not a terminal (this test's stdout): JSON lines without --json too
    expect((await gft('fits', 'info', a)).out).toBe(one.out);
  });

  it('a table like astropy fitsinfo on a terminal (or with --table)', async () => {
    const r = await gft('fits', 'info', '--table', a, b);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe(`Filename: ${a} (${readFileSync(a).length} bytes)`);
    expect(lines[1]).toMatch(/^No\.\s+Name\s+Ver\s+Type\s+Cards\s+Dimensions\s+Format$/);
    expect(lines[2]).toMatch(/^\s+0\s+PRIMARY\s+1\s+PrimaryHDU\s+\d+\s+\(40, 30\)\s+int16 \(rescales to uint16\)$/);
    expect(lines[3]).toMatch(/^\s+1\s+CAT\s+1\s+BinTableHDU\s+\d+\s+3R x 2C\s+\[1D, 1J\]$/); // as astropy prints it
    expect(r.out).toMatch(/Observation: 2024-01-01T00:00:00\.000Z \(HDU 0, from DATE-OBS\)/);
    expect(r.out).toMatch(/Statistics of the scaled values:\n\s*No\.\s+min\s+max\s+mean\s+median\s+std\s+finite\n\s+0\s+1000\s+1016 /);
    expect(r.out).toMatch(/\s+1\s+COMPRESSED_IMAGE\s+1\s+CompImageHDU\s+\d+\s+\(40, 30\)\s+int16 \(rescales to uint16\)/);
    await expect(gft('fits', 'info', '--json', '--table', a)).resolves.toMatchObject({ code: 2, err: expect.stringMatching(/exclude each other/) });
  });
});
