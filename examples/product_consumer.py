#!/usr/bin/env python3
"""Example outside consumer of the public topics `gic.products` and `fsc.receipts` (docs/consumers.md).

Written the way an outside team would, with the reference Confluent client only:
`pip install 'confluent-kafka[avro]'` (librdkafka is inside the wheel). It subscribes with its OWN
consumer group, decodes each record through the schema registry with `AvroDeserializer` (Confluent
wire format: magic byte 0, 4-byte schema id, Avro body; the writer schema is fetched by id), and for
each product announcement copies the product file from the mounted product storage into a folder,
checking its sha256 and size. It prints one JSON line per record; timestamps (Avro `long` with
logicalType `timestamp-millis`, e.g. `createdAt`) arrive as timezone-aware UTC datetimes and are
printed in ISO 8601.

    python product_consumer.py --group my-team-products --out ./products \\
        [--brokers host:9092] [--registry https://.../apis/ccompat/v7] [--storage /mnt/gft-storage] \\
        [--topic gic.products] [--topic fsc.receipts] [--from-beginning] [--exit-after N]

SASL/SCRAM and TLS: --sasl-user / GFT_KAFKA_SASL_USER, the password in GFT_KAFKA_SASL_PASSWORD or the
file named by GFT_KAFKA_SASL_PASSWORD_FILE (never on the command line), --sasl-mechanism (SCRAM-SHA-512
by default, or SCRAM-SHA-256), --ssl [--ca FILE]; the registry gets the same user and password (HTTP
basic) unless GFT_REGISTRY_USER / GFT_REGISTRY_PASSWORD[_FILE] are set. Delivery is at least once: offsets are committed only after a record was handled,
and the download is idempotent (same product id + revision + sha256 -> same file, skipped when there).
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import signal
import sys

from confluent_kafka import Consumer, KafkaException
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def storage_path(storage_dir, uri):
    """Path of an object in a mounted product storage (filesystem layout: objects/<aa>/<sha256>)."""
    m = re.fullmatch(r"gft-store://sha256/([0-9a-f]{64})", uri)
    if not m:
        raise ValueError(f"not a product storage URI: {uri}")
    return os.path.join(storage_dir, "objects", m.group(1)[:2], m.group(1))


def download(product, storage_dir, out_dir):
    """Copies the product file into out_dir as <productId>_r<revision>.fits, verified; returns its path."""
    path = os.path.join(out_dir, f"{product['productId']}_r{product['revision']}.fits")
    sha = lambda b: hashlib.sha256(b).hexdigest()
    if os.path.exists(path):
        with open(path, "rb") as f:
            if sha(f.read()) == product["storage"]["sha256"]:
                return path  # already here
    with open(storage_path(storage_dir, product["storage"]["uri"]), "rb") as f:
        data = f.read()
    if len(data) != product["storage"]["size"] or sha(data) != product["storage"]["sha256"]:
        raise ValueError(f"{product['productId']}: stored bytes do not match the announced sha256/size")
    os.makedirs(out_dir, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return path


def to_json(value):
    """JSON for a decoded record: datetimes (timestamp-millis) in ISO 8601, bytes in hex."""
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot print {type(value).__name__}")


def secret(name):
    """A secret from NAME or from the file named by NAME_FILE (Docker/Kubernetes secrets); never printed."""
    path = os.environ.get(name + "_FILE", "")
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read().rstrip("\r\n")
    return os.environ.get(name, "")


def main(argv=None):
    env = os.environ.get
    p = argparse.ArgumentParser(description="Consume GFT-FGFT products (and receipts) through the schema registry.")
    p.add_argument("--brokers", default=env("GFT_KAFKA_BROKERS", "127.0.0.1:19092"))
    p.add_argument("--registry", default=env("GFT_REGISTRY_URL", "http://127.0.0.1:18081/apis/ccompat/v7"))
    p.add_argument("--group", required=True, help="your own consumer group id, e.g. <team>-products")
    p.add_argument("--topic", action="append", help="topic to read (repeatable); default gic.products")
    p.add_argument("--storage", default=env("GFT_STORAGE_DIR", os.path.abspath(".gft/storage")), help="mounted product storage")
    p.add_argument("--out", default=None, help="copy each announced product file here (verified)")
    p.add_argument("--from-beginning", action="store_true", help="a new group starts at the oldest record")
    p.add_argument("--sasl-user", default=env("GFT_KAFKA_SASL_USER", ""))
    p.add_argument("--sasl-mechanism", default=env("GFT_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512").upper(), choices=["SCRAM-SHA-512", "SCRAM-SHA-256"])
    p.add_argument("--ssl", action="store_true", default=env("GFT_KAFKA_SSL") == "true")
    p.add_argument("--ca", default=None, help="CA certificate (PEM) for TLS")
    p.add_argument("--exit-after", type=int, default=0, help="stop after N records (0: run until SIGINT/SIGTERM)")
    a = p.parse_args(argv)
    topics = a.topic or ["gic.products"]

    conf = {
        "bootstrap.servers": a.brokers,
        "group.id": a.group,
        "auto.offset.reset": "earliest" if a.from_beginning else "latest",
        # at least once: the offset of a record is stored only once it was handled (auto-committed after)
        "enable.auto.offset.store": False,
    }
    password = secret("GFT_KAFKA_SASL_PASSWORD")
    if a.sasl_user:
        conf.update({"security.protocol": "SASL_SSL" if a.ssl or a.ca else "SASL_PLAINTEXT", "sasl.mechanism": a.sasl_mechanism,
                     "sasl.username": a.sasl_user, "sasl.password": password})
    elif a.ssl:
        conf["security.protocol"] = "SSL"
    if a.ca:
        conf["ssl.ca.location"] = a.ca

    # No reader schema: records are decoded with the writer schema of their id, so fields added
    # later simply appear (the public subjects are FULL_TRANSITIVE: nothing is removed without a default).
    registry = {"url": a.registry}
    registry_user = env("GFT_REGISTRY_USER", "") or a.sasl_user
    if registry_user:
        registry_password = secret("GFT_REGISTRY_PASSWORD") if env("GFT_REGISTRY_USER", "") else password
        registry["basic.auth.user.info"] = f"{registry_user}:{registry_password}"
    deserialize = AvroDeserializer(SchemaRegistryClient(registry))
    consumer = Consumer(conf)
    consumer.subscribe(topics)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    n = 0
    try:
        while not stopping and not (a.exit_after and n >= a.exit_after):
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            value = deserialize(msg.value(), SerializationContext(msg.topic(), MessageField.VALUE))
            line = {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(),
                    "key": msg.key().decode() if msg.key() is not None else None, "value": value}
            if a.out and msg.topic().endswith("gic.products"):
                line["file"] = download(value, a.storage, a.out)
            print(json.dumps(line, default=to_json), flush=True)
            consumer.store_offsets(msg)
            n += 1
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()  # commits the stored offsets
    return 0


if __name__ == "__main__":
    sys.exit(main())
