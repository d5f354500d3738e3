/**
 * Secrets never reach a log line. Every secret the configuration reads (passwords from the
 * environment or from `*_FILE` files, the local stack's credential files) is remembered here, and the
 * writers of log lines (lib/runtime/log.ts, kafkajs' log lines in lib/runtime/kafka.ts) pass their
 * text through `redact`, which replaces each remembered secret by `***`. A second line of defence:
 * nothing is meant to log a secret in the first place.
 */
import { readFileSync } from 'node:fs';

const known = new Set<string>();
/** Shorter values would blank ordinary words; no secret of ours is that short. */
const MIN_LENGTH = 6;

export function rememberSecret(value: string | undefined | null): void {
  if (value && value.length >= MIN_LENGTH) known.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const s of known) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}

export class SecretFileError extends Error {
  readonly code = 'config.secret_file';
}

/** A secret kept in a file (Docker/Kubernetes secrets, GFT_HOME/secure/users): its content without the final newline. */
export function readSecretFile(file: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    // the message names the file, never its content
    throw new SecretFileError(`${what}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const value = text.replace(/\r?\n$/, '');
  rememberSecret(value);
  return value;
}
