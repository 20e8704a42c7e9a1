#!/usr/bin/env bash
# Accept benchmark of the inbound server into the durable spool (not part of `mvn verify`).
# Usage: bench/accept.sh [seconds-per-run] [spool-parent-dir]
# Prints messages/s and p50/p99 accept latency for 1, 10 and 50 clients, with fsync and (baseline) without.
# BENCH_JAVA_OPTS: JVM options instead of the default heap (e.g. "-Xmx512m -XX:+UseSerialGC"); -Dbench.clients=1,10,50
# and -Dbench.fsync=true,false in it choose the runs. The relay logs one line per message to standard error, as it
# does in production: send it to a file (2>accept.log), not to a terminal, which would slow every session down.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -pl relay-smtp -am test-compile dependency:build-classpath \
    -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
# shellcheck disable=SC2086
exec java ${BENCH_JAVA_OPTS:--Xms512m -Xmx512m} \
    -cp "relay-smtp/target/test-classes:relay-smtp/target/classes:$(cat relay-smtp/target/bench-classpath.txt)" \
    org.tlsrelay.smtp.inbound.AcceptBenchmark "$@"
