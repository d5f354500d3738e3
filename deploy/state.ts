/**
 * What the local stack is made of, recorded in GFT_HOME/stack.json by `gft stack up`: the number of
 * Kafka brokers, their client addresses, and whether the S3 server is part of it. Later `up` calls
 * without options keep that layout (so `npx gft test` after `stack up --brokers 3 --s3` runs on the
 * cluster), and clients read the broker list from it when GFT_KAFKA_BROKERS is unset
 * (lib/config/platform.ts, `stackBrokers`).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stackStateFile } from '../lib/config/platform.ts';

export interface StackState {
  kafka: {
    /** 1: one combined node (the default); 3: a KRaft quorum of three combined nodes */
    brokers: number;
    /** client (PLAINTEXT) addresses of every broker */
    bootstrap: string[];
  };
  /** the S3-compatible object store (MinIO) runs with the stack */
  s3: boolean;
  /** `gft stack up --secure`: Kafka SASL_SSL + ACLs, registry and ClickHouse with passwords (read by lib/config/localSecure.ts) */
  secure: boolean;
}

export function readState(home: string): StackState | null {
  try {
    const s = JSON.parse(readFileSync(stackStateFile(home), 'utf8')) as Partial<StackState>;
    const brokers = Number(s.kafka?.brokers);
    if (!Number.isInteger(brokers) || brokers < 1) return null;
    return { kafka: { brokers, bootstrap: (s.kafka?.bootstrap ?? []).map(String) }, s3: s.s3 === true, secure: s.secure === true };
  } catch {
    return null;
  }
}

/** Written atomically (temp file + rename): clients may read it at any moment. */
export function writeState(home: string, state: StackState): void {
  const file = stackStateFile(home);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, file);
}
