#!/usr/bin/env bash
# Accept benchmark of the inbound server into the durable spool (not part of `mvn verify`).
# Usage: bench/accept.sh [seconds-per-run] [spool-parent-dir]
# Prints messages/s and p50/p99 accept latency for 1, 10 and 50 clients, with fsync and (baseline) without.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -pl relay-smtp -am test-compile dependency:build-classpath \
    -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
exec java -Xms512m -Xmx512m \
    -cp "relay-smtp/target/test-classes:relay-smtp/target/classes:$(cat relay-smtp/target/bench-classpath.txt)" \
    org.tlsrelay.smtp.inbound.AcceptBenchmark "$@"
