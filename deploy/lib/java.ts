/**
 * Picks a JVM for a service. Kafka 4.1 needs Java ≥ 17; Apicurio Registry 3.3 is compiled for
 * Java 21 (class version 65). Debian 12 ships OpenJDK 17 only, so the registry needs a JDK from
 * elsewhere (e.g. Temurin under /usr/lib/jvm).
 *
 * Candidates: the explicit override (a JDK home or a `java` binary), $JAVA_HOME, every folder of
 * /usr/lib/jvm, and `java` on PATH. The lowest major version ≥ the minimum wins, so a service runs on
 * the most conservative JVM that suits it and the choice does not depend on the caller's JAVA_HOME.
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface Jvm {
  java: string;
  major: number;
}

function majorOf(version: string): number {
  const m = /^(?:1\.)?(\d+)/.exec(version);
  return m ? Number(m[1]) : 0;
}

function fromHome(home: string): Jvm | null {
  const java = join(home, 'bin', 'java');
  if (!existsSync(java)) return null;
  try {
    const m = /JAVA_VERSION="([^"]+)"/.exec(readFileSync(join(home, 'release'), 'utf8'));
    if (m) return { java, major: majorOf(m[1]) };
  } catch {
    /* no release file: ask the binary */
  }
  return fromBinary(java);
}

function fromBinary(java: string): Jvm | null {
  const r = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 10_000 });
  const m = /version "([^"]+)"/.exec(`${r.stderr}${r.stdout}`);
  return m ? { java, major: majorOf(m[1]) } : null;
}

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir || '.', cmd);
    if (existsSync(p)) return p;
  }
  return null;
}

export function findJava(min: number, override?: string): Jvm {
  if (override) {
    const j = existsSync(join(override, 'bin', 'java')) ? fromHome(override) : fromBinary(override);
    if (!j) throw new Error(`${override} is neither a JDK home nor a java binary`);
    if (j.major < min) throw new Error(`${override} is Java ${j.major}; Java ${min} or newer is needed`);
    return j;
  }
  const found: Jvm[] = [];
  const seen = new Set<string>();
  const add = (j: Jvm | null) => {
    if (!j) return;
    let key = j.java;
    try {
      key = realpathSync(j.java);
    } catch {
      /* keep the path */
    }
    if (!seen.has(key)) {
      seen.add(key);
      found.push(j);
    }
  };
  if (process.env.JAVA_HOME) add(fromHome(process.env.JAVA_HOME));
  try {
    for (const d of readdirSync('/usr/lib/jvm')) add(fromHome(join('/usr/lib/jvm', d)));
  } catch {
    /* no /usr/lib/jvm */
  }
  if (!found.some((j) => j.major >= min)) {
    const onPath = which('java');
    if (onPath) add(fromBinary(onPath));
  }
  const ok = found.filter((j) => j.major >= min).sort((a, b) => a.major - b.major);
  if (!ok.length) {
    const have = found.map((j) => `${j.java} (${j.major})`).join(', ') || 'none';
    throw new Error(`no Java ${min}+ found (have: ${have}). Install one under /usr/lib/jvm or set JAVA_HOME.`);
  }
  return ok[0];
}
