/**
 * Small, strict argument parser shared by every `gft` command: declared options only, typed values,
 * generated help. Unknown options are usage errors (exit 2), never silently ignored, with the
 * nearest declared option suggested ("did you mean --speed?", as git and cargo do).
 *
 * Help follows the conventions of argparse and friends: a value's placeholder says what it is (`<DIR>`,
 * `<FILE>`, `<N>`, else the option's name in capitals), a boolean that is on by default reads
 * `--[no-]name`, and a default is shown once and only when there is one (no `(default: )`, no
 * `(default: false)`, nothing added when the description already gives it).
 */
export class UsageError extends Error {}

export interface OptionSpec {
  type: 'string' | 'number' | 'boolean';
  description: string;
  default?: string | number | boolean;
  multiple?: boolean;
  /** The value's placeholder in help, e.g. 'DIR' (default: inferred, see placeholderOf). */
  placeholder?: string;
}

export interface CommandSpec {
  usage: string;
  description?: string;
  options: Record<string, OptionSpec>;
}

export interface Parsed {
  options: Record<string, string | number | boolean | string[] | undefined>;
  positionals: string[];
  help: boolean;
}

export function parseArgs(args: string[], spec: CommandSpec): Parsed {
  const options: Parsed['options'] = {};
  const positionals: string[] = [];
  let help = false;
  for (const [name, o] of Object.entries(spec.options)) {
    if (o.multiple) options[name] = [];
    else if (o.default !== undefined) options[name] = o.default;
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--help' || a === '-h') {
      help = true;
      continue;
    }
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    let key = a.slice(2);
    let value: string | undefined;
    const eq = key.indexOf('=');
    if (eq >= 0) {
      value = key.slice(eq + 1);
      key = key.slice(0, eq);
    }
    let o = spec.options[key];
    if (!o && key.startsWith('no-') && spec.options[key.slice(3)]?.type === 'boolean') {
      options[key.slice(3)] = false;
      continue;
    }
    if (!o) {
      const names = Object.entries(spec.options).flatMap(([n, x]) => (x.type === 'boolean' ? [n, `no-${n}`] : [n]));
      const near = didYouMean(key, [...names, 'help']);
      throw new UsageError(`unknown option --${key}${near ? ` (did you mean --${near}?)` : ''}\n\n${formatHelp(spec)}`);
    }
    if (o.type === 'boolean') {
      options[key] = value === undefined ? true : !/^(false|0|no)$/i.test(value);
      continue;
    }
    if (value === undefined) {
      value = args[++i];
      if (value === undefined) throw new UsageError(`option --${key} needs a value`);
    }
    let v: string | number = value;
    if (o.type === 'number') {
      v = Number(value);
      if (!Number.isFinite(v)) throw new UsageError(`option --${key} expects a number, got '${value}'`);
    }
    if (o.multiple) (options[key] as string[]).push(String(v));
    else options[key] = v;
  }
  return { options, positionals, help };
}

/**
 * The placeholder of an option's value in help: the declared one; else DIR or FILE when the
 * description says directory/folder or file; N for numbers; TIME for times; else the option's name in
 * capitals (argparse's metavar convention).
 */
/** A whole-number option in [min, max]. @throws UsageError naming the option and the range */
export function intOption(a: Parsed, name: string, min: number, max: number): number {
  const v = Number(a.options[name]);
  if (!Number.isInteger(v) || v < min || v > max) throw new UsageError(`--${name}: a whole number from ${min} to ${max}, got ${String(a.options[name])}`);
  return v;
}

export function placeholderOf(name: string, o: OptionSpec): string {
  if (o.placeholder) return o.placeholder;
  const d = o.description.toLowerCase();
  if (/\b(directory|folder|dir)\b/.test(d) || /(^|-)dir$/.test(name)) return 'DIR';
  if (/\bfile\b/.test(d) || /(^|-)file$/.test(name)) return 'FILE';
  if (o.type === 'number') return 'N';
  if (/(^|-)(time|t0|date|start)$/.test(name) || /\biso 8601\b/.test(d)) return 'TIME';
  return name.toUpperCase().replace(/-/g, '_');
}

/** The suffix saying an option's default, or '' when there is nothing worth saying. */
function defaultText(o: OptionSpec): string {
  if (o.default === undefined || o.default === '' || o.default === false) return '';
  if (/\bdefault\b/i.test(o.description)) return ''; // the description already says it
  if (o.default === true) return /--no-/.test(o.description) ? '' : ' (default: on)';
  return ` (default: ${o.default})`;
}

export function formatHelp(spec: CommandSpec): string {
  const lines = [`usage: ${spec.usage}`];
  if (spec.description) lines.push('', spec.description);
  const entries = Object.entries(spec.options);
  if (entries.length) {
    lines.push('', 'options:');
    for (const [name, o] of entries) {
      const flag = o.type === 'boolean' ? (o.default === true ? `--[no-]${name}` : `--${name}`) : `--${name} <${placeholderOf(name, o)}>${o.multiple ? '…' : ''}`;
      lines.push(`  ${flag.padEnd(26)} ${o.description}${defaultText(o)}`);
    }
  }
  lines.push('  --help                     show this help');
  return lines.join('\n');
}

/** Damerau–Levenshtein distance (adjacent transpositions count 1), for suggestions. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate a misspelt word most likely meant: the nearest by edit distance (at most 1 for words of
 * up to 4 letters, 2 up to 8, 3 beyond), or the only candidate it is a prefix of. Undefined when none
 * is close or two are equally close.
 */
export function didYouMean(word: string, candidates: string[]): string | undefined {
  const w = word.toLowerCase();
  const max = w.length <= 4 ? 1 : w.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestD = Infinity;
  let tie = false;
  for (const c of new Set(candidates)) {
    const dd = distance(w, c.toLowerCase());
    if (dd < bestD) {
      best = c;
      bestD = dd;
      tie = false;
    } else if (dd === bestD) tie = true;
  }
  if (best !== undefined && bestD <= max && !tie) return best;
  const prefixed = [...new Set(candidates)].filter((c) => c.toLowerCase().startsWith(w));
  return w.length >= 2 && prefixed.length === 1 ? prefixed[0] : undefined;
}

/**
 * Prints a command's usage the conventional way: asked for (`--help`) → stdout, exit 0; shown because
 * something was missing (no subcommand) → stderr, exit 2, so `gft fits > x` does not fill x with help.
 */
export function printUsage(text: string, asked: boolean): number {
  if (asked) console.log(text);
  else console.error(text);
  return asked ? 0 : 2;
}

/** A UsageError for an unknown subcommand, with the nearest one suggested. */
export function unknownSubcommand(sub: string, known: string[], help: string): UsageError {
  const near = didYouMean(sub, known);
  return new UsageError(`unknown subcommand '${sub}'${near ? ` (did you mean '${near}'?)` : ''}\n\n${help}`);
}
