/**
 * VOEvent intake from files, directories and stdin (tests, replays, drops): the exact received bytes
 * go to `voevent.raw`, keyed by IVORN (read cheaply from the root attribute; sha256 of the bytes when
 * absent), with the receipt time. Nothing is parsed or rejected here: the alerts stage decides, and
 * the raw bytes are always kept.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { TopicProducer } from '../../lib/runtime/producer.ts';

export function cheapIvorn(bytes: Buffer): string | null {
  const head = bytes.subarray(0, 4096).toString('utf8');
  const m = /<(?:\w+:)?VOEvent\b[^>]*?\sivorn\s*=\s*["']([^"']+)["']/.exec(head);
  return m ? m[1].trim() : null;
}

export function rawRecord(bytes: Buffer, transport: string, source: string, receivedAt: number) {
  const ivorn = cheapIvorn(bytes);
  return { key: ivorn ?? `sha256:${createHash('sha256').update(bytes).digest('hex')}`, value: { receivedAt, transport, source, ivorn, payload: bytes } };
}

export function listXml(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) out.push(...readdirSync(p).filter((f) => f.endsWith('.xml')).sort().map((f) => join(p, f)));
    else out.push(p);
  }
  return out;
}

/** Publishes files in order; `receivedAt` defaults to now (pass a fixed one for deterministic replays). */
export async function publishFiles(producer: TopicProducer, paths: string[], receivedAt?: (i: number) => number): Promise<number> {
  const files = listXml(paths);
  for (let i = 0; i < files.length; i++) await producer.send('voevent.raw', [rawRecord(readFileSync(files[i]), 'file', files[i], receivedAt?.(i) ?? Date.now())]);
  return files.length;
}

export async function publishStdin(producer: TopicProducer): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  await producer.send('voevent.raw', [rawRecord(Buffer.concat(chunks), 'stdin', 'stdin', Date.now())]);
}
