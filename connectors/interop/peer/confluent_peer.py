#!/usr/bin/env python3
"""The reference Confluent client (PyPI confluent-kafka + fastavro) as an interop peer for our topics.

Used by connectors/interop/confluent.interop.test.ts, in the private venv that setup.sh makes.

    confluent_peer.py consume --brokers B --registry URL --topic T --group G --count N [--timeout S]
        prints one JSON line per record: {topic, partition, offset, key, headers, value}, with the
        Python type of every non-JSON value tagged: {"$datetime": ISO 8601} for a datetime (an Avro
        timestamp-millis read by fastavro), {"$bytes": hex} for bytes.
    confluent_peer.py produce --brokers B --registry URL --topic T --schema FILE.avsc < records.jsonl
        reads JSON lines {key, headers, value} (same tags, turned back into datetime / bytes), encodes
        each value with AvroSerializer (the schema registered under <topic>-value as written in FILE,
        TopicNameStrategy), produces with acks=all, and prints {"schemaId", "partition", "offset"} per
        record.
"""
import argparse
import datetime
import json
import sys

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext


def tag(v):
    if isinstance(v, datetime.datetime):
        return {"$datetime": v.isoformat(timespec="milliseconds")}
    if isinstance(v, bytes):
        return {"$bytes": v.hex()}
    raise TypeError(f"cannot print {type(v).__name__}")


def untag(o):
    if isinstance(o, dict):
        if set(o) == {"$datetime"}:
            return datetime.datetime.fromisoformat(o["$datetime"])
        if set(o) == {"$bytes"}:
            return bytes.fromhex(o["$bytes"])
        return {k: untag(v) for k, v in o.items()}
    if isinstance(o, list):
        return [untag(v) for v in o]
    return o


def consume(a, registry):
    deserialize = AvroDeserializer(registry)
    c = Consumer({"bootstrap.servers": a.brokers, "group.id": a.group, "auto.offset.reset": "earliest"})
    c.subscribe([a.topic])
    n, idle = 0, 0.0
    try:
        while n < a.count:
            msg = c.poll(0.5)
            if msg is None:
                idle += 0.5
                if idle >= a.timeout:
                    print(f"timeout: {n} of {a.count} records after {a.timeout}s idle", file=sys.stderr)
                    return 1
                continue
            if msg.error():
                raise KafkaException(msg.error())
            idle = 0.0
            value = deserialize(msg.value(), SerializationContext(msg.topic(), MessageField.VALUE))
            headers = {k: v.decode() for k, v in (msg.headers() or [])}
            key = msg.key().decode() if msg.key() is not None else None
            print(json.dumps({"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(), "key": key, "headers": headers, "value": value}, default=tag), flush=True)
            n += 1
    finally:
        c.close()
    return 0


def produce(a, registry):
    with open(a.schema) as f:
        serialize = AvroSerializer(registry, f.read())
    p = Producer({"bootstrap.servers": a.brokers, "acks": "all", "enable.idempotence": True})
    ctx = SerializationContext(a.topic, MessageField.VALUE)
    failures = []

    def delivered(err, msg):
        if err is not None:
            failures.append(str(err))
        else:
            print(json.dumps({"schemaId": int.from_bytes(msg.value()[1:5], "big"), "partition": msg.partition(), "offset": msg.offset()}), flush=True)

    for line in sys.stdin:
        if not line.strip():
            continue
        r = untag(json.loads(line))
        key = r.get("key")
        p.produce(a.topic, key=key.encode() if key is not None else None, value=serialize(r["value"], ctx),
                  headers=[(k, v.encode()) for k, v in (r.get("headers") or {}).items()], on_delivery=delivered)
    if p.flush(30) > 0:
        failures.append("records still undelivered after 30 s")
    if failures:
        print("; ".join(failures), file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("consume", "produce"):
        s = sub.add_parser(name)
        s.add_argument("--brokers", required=True)
        s.add_argument("--registry", required=True)
        s.add_argument("--topic", required=True)
        if name == "consume":
            s.add_argument("--group", required=True)
            s.add_argument("--count", type=int, required=True)
            s.add_argument("--timeout", type=float, default=30.0, help="give up after this many idle seconds")
        else:
            s.add_argument("--schema", required=True, help="the .avsc file (no references to other files)")
    a = ap.parse_args(argv)
    registry = SchemaRegistryClient({"url": a.registry})
    return consume(a, registry) if a.cmd == "consume" else produce(a, registry)


if __name__ == "__main__":
    sys.exit(main())
