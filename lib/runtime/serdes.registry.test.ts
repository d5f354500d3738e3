/**
 * On the real registry (Apicurio's ccompat API): every subject our code registers holds its schema
 * exactly as the .avsc file says (parsed JSON equality, the shared StorageRef inlined), with the
 * compatibility the topology asks for (FULL_TRANSITIVE for public topics, BACKWARD otherwise), set
 * idempotently and switched on subjects registered before; and what we encode from numbers reads as
 * timestamps through the registry's schema, and back.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { platformConfig } from '../config/platform.ts';
import { AvroSerdes, subjectCompatibility } from './serdes.ts';
import { schemaDir, schemas, TimestampMillis } from './schemas.ts';
import { allTopics, nsName } from './topology.ts';
import { classify } from './errors.ts';
import { randomNamespace, stackReady } from './testing.ts';

const ready = await stackReady();
const H = { 'Content-Type': 'application/vnd.schemaregistry.v1+json' };

/** The .avsc file as parsed JSON, its first use of org.gft.common.StorageRef replaced by that file. */
function fileAsWritten(name: string): unknown {
  const e = schemas().get(name)!;
  const storageRef = JSON.stringify(JSON.parse(readFileSync(join(schemaDir, 'common', 'StorageRef.avsc'), 'utf8')));
  return JSON.parse(JSON.stringify(JSON.parse(readFileSync(join(schemaDir, e.file), 'utf8'))).replace('"org.gft.common.StorageRef"', storageRef));
}

describe.skipIf(!ready)('schema registry holds our schemas as written', () => {
  const url = platformConfig().registryUrl;
  const get = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${url}${path}`);
    if (!r.ok) throw new Error(`GET ${path}: HTTP ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
  const put = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'PUT', headers: H, body: JSON.stringify(body) });
  const post = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: H, body: JSON.stringify(body) });
  const latest = (subject: string) => get<{ id: number; version: number; schema: string }>(`/subjects/${encodeURIComponent(subject)}/versions/latest`);
  const level = async (subject: string) => (await get<{ compatibilityLevel: string }>(`/config/${encodeURIComponent(subject)}`)).compatibilityLevel;

  const ns = randomNamespace('reg');
  const ids = new Map<string, number>();
  beforeAll(async () => {
    const serdes = new AvroSerdes(url);
    for (const t of allTopics()) ids.set(t.name, await serdes.register(`${nsName(ns, t.name)}-value`, t.schema));
  }, 60_000);

  it('every subject: the latest schema is the .avsc file, under the topology compatibility', async () => {
    const topics = allTopics();
    expect(topics.length).toBeGreaterThanOrEqual(22); // 14 topics + 8 DLQs
    const levels: Record<string, string> = {};
    for (const t of topics) {
      const subject = `${nsName(ns, t.name)}-value`;
      const l = await latest(subject);
      expect(l.id, subject).toBe(ids.get(t.name));
      expect(JSON.parse(l.schema), subject).toEqual(fileAsWritten(t.schema));
      levels[t.name] = await level(subject);
    }
    for (const t of topics) expect(levels[t.name], t.name).toBe(t.public ? 'FULL_TRANSITIVE' : 'BACKWARD');
    expect(Object.values(levels).filter((x) => x === 'FULL_TRANSITIVE')).toHaveLength(2);
    const product = JSON.parse((await latest(`${nsName(ns, 'gic.products')}-value`)).schema) as { fields: { name: string; type: unknown }[] };
    expect(product.fields.find((f) => f.name === 'createdAt')!.type).toEqual({ type: 'long', logicalType: 'timestamp-millis' });
  });

  it('switches subjects registered before (BACKWARD, logical types lost) and stays idempotent', async () => {
    const ns2 = randomNamespace('regsw');
    const pub = `${nsName(ns2, 'gic.products')}-value`;
    const internal = `${nsName(ns2, 'gp1.candidates')}-value`;
    // what the previous code left on a running registry: avsc's export, BACKWARD on every subject
    for (const [subject, name] of [[pub, 'org.gft.gic.Product'], [internal, 'org.gft.gp1.CandidateList']]) {
      expect((await put(`/config/${subject}`, { compatibility: subject === pub ? 'BACKWARD' : 'NONE' })).ok).toBe(true);
      const old = JSON.stringify(schemas().get(name)!.type.schema({ exportAttrs: true }));
      expect(old).not.toContain('timestamp-millis');
      expect((await post(`/subjects/${subject}/versions`, { schema: old })).ok).toBe(true);
    }
    const id = await new AvroSerdes(url).register(pub, 'org.gft.gic.Product');
    await new AvroSerdes(url).register(internal, 'org.gft.gp1.CandidateList');
    expect(await level(pub)).toBe('FULL_TRANSITIVE');
    expect(await level(internal)).toBe('BACKWARD');
    expect(JSON.parse((await latest(pub)).schema)).toEqual(fileAsWritten('org.gft.gic.Product'));
    expect(await get<number[]>(`/subjects/${pub}/versions`)).toEqual([1, 2]);
    // again, from a process with nothing cached: same id, no new version, level unchanged
    expect(await new AvroSerdes(url).register(pub, 'org.gft.gic.Product')).toBe(id);
    expect(await get<number[]>(`/subjects/${pub}/versions`)).toEqual([1, 2]);
    expect(await level(pub)).toBe('FULL_TRANSITIVE');
  });

  it('the registry enforces the rule: a change old readers cannot read is refused on a public subject only', async () => {
    // drop `candidates` (no default): new readers read old data (BACKWARD) but old readers cannot read new data
    const product = fileAsWritten('org.gft.gic.Product') as { fields: { name: string }[] };
    const dropped = JSON.stringify({ ...product, fields: product.fields.filter((f) => f.name !== 'candidates') });
    const onPublic = await post(`/subjects/${nsName(ns, 'gic.products')}-value/versions`, { schema: dropped });
    expect(onPublic.status).toBe(409);
    const internalSubject = `${nsName(ns, 'gp1.candidates')}-value`;
    const list = fileAsWritten('org.gft.gp1.CandidateList') as { fields: { name: string }[] };
    const listDropped = JSON.stringify({ ...list, fields: list.fields.filter((f) => f.name !== 'epochTime') });
    expect((await post(`/subjects/${internalSubject}/versions`, { schema: listDropped })).ok).toBe(true);
    expect(subjectCompatibility(`${ns}.gic.products-value`)).toBe('FULL_TRANSITIVE');
    expect(subjectCompatibility('gic.products-value')).toBe('FULL_TRANSITIVE');
    expect(subjectCompatibility(`${ns}.gic.dlq-value`)).toBe('BACKWARD');
  });

  it('a schema the subject refuses is invalid input registry.incompatible_schema', async () => {
    const subject = `${nsName(randomNamespace('regbad'), 'fsc.receipts')}-value`;
    const receipt = fileAsWritten('org.gft.fsc.FscReceipt') as { fields: { name: string; type: unknown }[] };
    const other = { ...receipt, fields: receipt.fields.map((f) => (f.name === 'processedAt' ? { ...f, type: 'string' } : f)) };
    expect((await post(`/subjects/${subject}/versions`, { schema: JSON.stringify(other) })).ok).toBe(true);
    const e = await new AvroSerdes(url).register(subject, 'org.gft.fsc.FscReceipt').catch((x: unknown) => x);
    expect(classify(e)).toMatchObject({ retriable: false, code: 'registry.incompatible_schema' });
  });

  it('numbers we encode read as timestamps through the registry schema (avsc logical type hook), and back', async () => {
    const serdes = new AvroSerdes(url);
    const id = ids.get('gic.products')!;
    await serdes.register(`${nsName(ns, 'gic.products')}-value`, 'org.gft.gic.Product');
    const ms = Date.UTC(2024, 2, 15, 2, 29, 0, 7);
    const v = { productId: 'sb24031501_2403150101_5min', burstId: 'sb24031501', obsId: '2403150101', epochMinutes: 5, revision: 1, prdmVersion: '1.005', card: 'FGFT_CAND_EPOCH', createdAt: ms, candidates: 3, storage: { uri: 'gft-store://sha256/ab', sha256: 'ab', size: 2880, kind: 'product' } };
    const framed = serdes.encode(id, v);
    const writer = JSON.parse((await get<{ schema: string }>(`/schemas/ids/${id}`)).schema) as avro.Schema;
    const dated = avro.Type.forSchema(writer, { wrapUnions: false, logicalTypes: { 'timestamp-millis': TimestampMillis } });
    const read = dated.fromBuffer(framed.subarray(5)) as { createdAt: Date };
    expect(read.createdAt).toEqual(new Date(ms));
    const theirs = Buffer.concat([framed.subarray(0, 5), dated.toBuffer({ ...v, createdAt: new Date(ms + 1) })]);
    expect(await new AvroSerdes(url).decode(theirs, 'org.gft.gic.Product')).toEqual({ ...v, createdAt: ms + 1 });
  });
});
