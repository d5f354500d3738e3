/**
 * Small, strict argument parser shared by every `gft` command: declared options only, typed values,
 * generated help. Unknown options are usage errors (exit 2), never silently ignored.
 */
export class UsageError extends Error {}

export interface OptionSpec {
  type: 'string' | 'number' | 'boolean';
  description: string;
  default?: string | number | boolean;
  multiple?: boolean;
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
    if (!o) throw new UsageError(`unknown option --${key}\n\n${formatHelp(spec)}`);
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

export function formatHelp(spec: CommandSpec): string {
  const lines = [`usage: ${spec.usage}`];
  if (spec.description) lines.push('', spec.description);
  const entries = Object.entries(spec.options);
  if (entries.length) {
    lines.push('', 'options:');
    for (const [name, o] of entries) {
      const flag = o.type === 'boolean' ? `--${name}` : `--${name} <${o.type === 'number' ? 'n' : 'value'}>`;
      const def = o.default !== undefined ? ` (default: ${o.default})` : '';
      lines.push(`  ${flag.padEnd(26)} ${o.description}${def}`);
    }
  }
  return lines.join('\n');
}
