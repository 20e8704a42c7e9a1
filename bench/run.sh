#!/usr/bin/env bash
# End-to-end relay benchmark on loopback, all in one run, same load for each:
#   (1) the loopback limit: smtp-source -> TLS-capable sink (plain, smtp-source cannot do TLS)
#   (2) smtp-source -> Postfix (relay, smtp_tls_security_level=verify, fsync'd queue) -> sink over STARTTLS
#   (3) smtp-source -> tlsrelay (enforce policy for the sink's domain, durable spool) -> sink over STARTTLS
# Prints messages/s end to end for each and, on the last line, the ratio tlsrelay/Postfix.
# Usage: bench/run.sh [MESSAGES] [SESSIONS] [SIZE_BYTES]   (defaults 2000 20 10240)
# Each scenario first relays WARMUP messages (default: MESSAGES/2, same for every scenario) that are not measured,
# so that the figures are steady-state ones, as for a relay that has been running (JIT-compiled, caches and
# connections warm); WARMUP=0 measures a cold start instead.
# Needs root for installing Postfix from Debian packages and for running a Postfix instance.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MSGS=${1:-2000}
SESS=${2:-20}
SIZE=${3:-10240}
WARMUP=${WARMUP:-$((MSGS / 2))}
LIMIT_SECONDS=${LIMIT_SECONDS:-600}     # per scenario: the run never goes on longer than this
WORK=$(mktemp -d /tmp/tlsrelay-bench.XXXXXX)
chmod 755 "$WORK"   # Postfix runs as user postfix and must reach its queue
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -f "$WORK/postfix/etc/main.cf" ] && postfix -c "$WORK/postfix/etc" stop >/dev/null 2>&1 || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- prerequisites ----
if ! command -v smtp-source >/dev/null || ! command -v postfix >/dev/null; then
  log "installing postfix (for smtp-source and the Postfix relay) from Debian packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi
log "building tlsrelay"
# One reactor run: the classpath of relay-cli's tests (written last) includes the other modules' test kits.
(cd "$ROOT" && mvn -B -q package dependency:build-classpath -DskipTests -Dmdep.includeScope=test \
   -Dmdep.outputFile="$WORK/cp.txt" >/dev/null)
CP="$ROOT/relay-cli/target/test-classes:$ROOT/relay-core/target/test-classes:$(cat "$WORK/cp.txt")"
JAR="$ROOT/relay-cli/target/tlsrelay.jar"

now_ms() { date +%s%3N; }
wait_for_file() { # file seconds
  local i=0
  while [ ! -s "$1" ]; do
    sleep 0.05; i=$((i + 1))
    if [ $i -gt $(($2 * 20)) ]; then log "timed out waiting for $1"; return 1; fi
  done
}

start_sink() { # name -> sets SINK_PORT; the sink writes $WORK/$name.done after MSGS messages
  local name=$1
  rm -f "$WORK/$name.port" "$WORK/$name.done" "$WORK/$name.warm"
  java -cp "$CP" org.tlsrelay.bench.TlsSink --name sink.bench.test --ca-out "$WORK/ca.pem" \
    --port-file "$WORK/$name.port" --done-file "$WORK/$name.done" --expect "$MSGS" \
    --warmup "$WARMUP" --warm-file "$WORK/$name.warm" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  SINK_PID=$!
  wait_for_file "$WORK/$name.port" 30
  SINK_PORT=$(cat "$WORK/$name.port")
}

# Sends MSGS messages through host:port and reports messages/s from the first byte sent to the last message at the
# sink. Prints "rate".
measure() { # label name port
  local label=$1 name=$2 port=$3 start end
  if [ "$WARMUP" -gt 0 ]; then
    timeout "$LIMIT_SECONDS" smtp-source -s "$SESS" -l "$SIZE" -m "$WARMUP" -M bench.test \
      -f sender@bench.test -t rcpt@bench.test "127.0.0.1:$port" >"$WORK/$name.warmup.log" 2>&1
    wait_for_file "$WORK/$name.warm" "$LIMIT_SECONDS"
  fi
  if [ "$name" = tlsrelay ]; then cpu0=$(cpu_ms "$TR_PID"); fi   # the relay's CPU counts from here
  start=$(now_ms)
  timeout "$LIMIT_SECONDS" smtp-source -s "$SESS" -l "$SIZE" -m "$MSGS" -M bench.test \
    -f sender@bench.test -t rcpt@bench.test "127.0.0.1:$port" >"$WORK/$name.source.log" 2>&1
  local accepted=$(now_ms)
  wait_for_file "$WORK/$name.done" "$LIMIT_SECONDS"
  end=$(awk '{print $2}' "$WORK/$name.done")
  local secs accept_rate rate
  secs=$(awk -v s="$start" -v e="$end" 'BEGIN{printf "%.3f", (e-s)/1000}')
  rate=$(awk -v n="$MSGS" -v s="$start" -v e="$end" 'BEGIN{printf "%.0f", n*1000/(e-s)}')
  accept_rate=$(awk -v n="$MSGS" -v s="$start" -v e="$accepted" 'BEGIN{printf "%.0f", n*1000/(e-s)}')
  printf '%-34s %6s msg/s end-to-end (%s messages in %ss; accepted at %s msg/s)\n' \
    "$label" "$rate" "$MSGS" "$secs" "$accept_rate"
  kill "$SINK_PID" 2>/dev/null || true
  echo "$rate" >"$WORK/$name.rate"
}

cpu_ms() { # pid -> user+sys CPU milliseconds of the process and its threads
  awk '{print ($14+$15)*10}' "/proc/$1/stat"
}

echo "tlsrelay benchmark: $MSGS messages of $SIZE bytes, $SESS sessions, after $WARMUP warm-up messages, loopback only ($(nproc) cores)"

# ---- (1) loopback limit ----
start_sink loopback
measure "(1) smtp-source -> sink" loopback "$SINK_PORT"

# ---- (2) Postfix ----
start_sink postfix
PF="$WORK/postfix"
mkdir -p "$PF/etc" "$PF/queue" "$PF/data"
cp /etc/postfix/master.cf "$PF/etc/master.cf"
cp "$WORK/ca.pem" "$PF/etc/ca.pem"
# No chroot (the instance lives in /tmp), and an smtpd on a free loopback port.
sed -i -E 's/^(smtp +inet +n +- +)y/\1n/; s/^([a-z]+ +unix +- +- +)y/\1n/' "$PF/etc/master.cf"
PF_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -i -E "s/^smtp +inet /127.0.0.1:$PF_PORT inet /" "$PF/etc/master.cf"
# TLS connection reuse goes through tlsproxy.
grep -qE '^tlsproxy' "$PF/etc/master.cf" || echo 'tlsproxy  unix  -       -       n       -       0       tlsproxy' >>"$PF/etc/master.cf"
cat >"$PF/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.bench.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$SINK_PORT
smtp_tls_security_level = verify
smtp_tls_CAfile = $PF/etc/ca.pem
smtp_tls_policy_maps = inline:{ {[127.0.0.1]:$SINK_PORT = secure match=sink.bench.test} }
smtp_tls_connection_reuse = yes
smtp_tls_session_cache_database = btree:$PF/data/smtp_scache
default_process_limit = 100
default_destination_concurrency_limit = 20
smtpd_client_connection_count_limit = 0
smtpd_recipient_restrictions = permit_mynetworks, reject
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
CF
postconf -e "alternate_config_directories = $PF/etc" >/dev/null
chown -R postfix "$PF/queue" "$PF/data"
postfix -c "$PF/etc" set-permissions >/dev/null 2>&1 || true
postfix -c "$PF/etc" start >"$WORK/postfix.start.log" 2>&1 || { cat "$WORK/postfix.start.log" >&2; exit 1; }
measure "(2) smtp-source -> Postfix -> sink" postfix "$PF_PORT"
postfix -c "$PF/etc" stop >/dev/null 2>&1 || true
postconf -X alternate_config_directories >/dev/null 2>&1 || true

# ---- (3) tlsrelay ----
if [ -n "${SKIP_TLSRELAY:-}" ]; then
  echo "tlsrelay scenario skipped (SKIP_TLSRELAY set)"
  exit 0
fi
start_sink tlsrelay
java -cp "$CP" org.tlsrelay.bench.BenchDns --zone bench.test --mx sink.bench.test --address 127.0.0.1 \
  --port-file "$WORK/dns.port" >"$WORK/dns.log" 2>&1 &
PIDS+=($!)
wait_for_file "$WORK/dns.port" 30
TR_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/tlsrelay.yaml" <<YAML
server:
  listen: "127.0.0.1:$TR_PORT"
  hostname: relay.bench.test
spool:
  dir: $WORK/tlsrelay/spool
delivery:
  port: $SINK_PORT
  trust: { system: false, extra-ca: ["$WORK/ca.pem"] }
dns:
  servers: ["127.0.0.1:$(cat "$WORK/dns.port")"]
  dnssec: ${BENCH_DNSSEC:-validate}   # the benchmark's DNS stub has no DNSSEC: the relay notices and DANE stays off
policy:
  mta-sts: { enabled: false }
  overrides:
    bench.test: { mode: enforce, mxs: [sink.bench.test] }
reports:
  enabled: false
admin:
  listen: "127.0.0.1:0"
YAML
java ${RELAY_JAVA_OPTS:-} -jar "$JAR" run --config "$WORK/tlsrelay.yaml" >"$WORK/tlsrelay.log" 2>&1 &
TR_PID=$!
PIDS+=($TR_PID)
for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$TR_PORT") 2>/dev/null && break; sleep 0.05; done
measure "(3) smtp-source -> tlsrelay -> sink" tlsrelay "$TR_PORT"
cpu1=$(cpu_ms "$TR_PID")
rss=$(awk '/VmHWM/{print $2}' "/proc/$TR_PID/status")
echo "    tlsrelay CPU $(awk -v c=$((cpu1 - cpu0)) -v n="$MSGS" 'BEGIN{printf "%.2f", c/n}') ms/message, peak RSS $((rss / 1024)) MB"
ratio=$(awk -v a="$(cat "$WORK/tlsrelay.rate")" -v b="$(cat "$WORK/postfix.rate")" 'BEGIN{printf "%.2f", a/b}')
echo "ratio tlsrelay/Postfix: $ratio"
