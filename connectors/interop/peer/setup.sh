#!/usr/bin/env bash
# Installs the reference clients used by connectors/interop/*.test.ts, under $GFT_HOME (default .gft/,
# git-ignored). Idempotent; each part reports what it did, and the script exits non-zero when one
# could not be installed (the tests that need it then skip, saying why).
#  - Python: confluent-kafka (PyPI; manylinux wheel with librdkafka inside) with its Avro extra
#    (fastavro) in a private venv $GFT_HOME/confluent-peer, for the Python consumer/producer and for
#    examples/product_consumer.py.
#  - Java: Kafka's own console consumer (org.apache.kafka:kafka-tools from Maven Central, same
#    version as the broker in deploy/kafka/pom.xml) into $GFT_HOME/kafka-tools; its other jars are the
#    broker's, in $GFT_HOME/kafka/libs.
# Usage: bash connectors/interop/peer/setup.sh
set -uo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
home="${GFT_HOME:-$root/.gft}"
mkdir -p "$home"
status=0

cfk_version=2.16.2
venv="$home/confluent-peer"
check_py() { "$venv/bin/python" -c "import sys, confluent_kafka, fastavro; from confluent_kafka.schema_registry.avro import AvroDeserializer; sys.exit(confluent_kafka.__version__ != '$cfk_version')" 2>/dev/null; }
if check_py; then
  echo "interop peer: confluent-kafka $cfk_version already in $venv"
elif ! command -v python3 >/dev/null; then
  echo "interop peer: no python3 on PATH: the Python interop tests will skip"; status=1
else
  rm -rf "$venv"
  if python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=confluent-kafka "confluent-kafka[avro]==$cfk_version" && check_py; then
    "$venv/bin/python" -c 'import sys, confluent_kafka, fastavro; print("interop peer: confluent-kafka", confluent_kafka.__version__, "librdkafka", confluent_kafka.libversion()[0], "fastavro", fastavro.__version__, "on Python", sys.version.split()[0], "in", sys.prefix)'
  else
    echo "interop peer: could not install confluent-kafka[avro]==$cfk_version from PyPI with $(python3 --version 2>&1): the Python interop tests will skip"; status=1
  fi
fi

kafka_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$root/deploy/kafka/pom.xml" | head -1)"
tools="$home/kafka-tools"
jar="$tools/kafka-tools-$kafka_version.jar"
if [ -f "$jar" ]; then
  echo "interop peer: $jar already there"
elif ! command -v mvn >/dev/null; then
  echo "interop peer: no mvn: the Kafka console consumer test will skip"; status=1
elif mvn -B -q --no-transfer-progress -Dstyle.color=never dependency:copy "-Dartifact=org.apache.kafka:kafka-tools:$kafka_version" "-DoutputDirectory=$tools.tmp" >"$home/kafka-tools.log" 2>&1 && mkdir -p "$tools" && mv "$tools.tmp/kafka-tools-$kafka_version.jar" "$jar"; then
  rm -rf "$tools.tmp"
  echo "interop peer: Kafka console consumer in $jar"
else
  rm -rf "$tools.tmp"
  tail -5 "$home/kafka-tools.log" 2>/dev/null
  echo "interop peer: could not fetch org.apache.kafka:kafka-tools:$kafka_version from Maven Central: the console consumer test will skip"; status=1
fi
exit $status
