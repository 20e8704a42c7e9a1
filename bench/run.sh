#!/usr/bin/env bash
# End-to-end relay benchmark on loopback, all in one run, same load for each scenario:
#   loopback          smtp-source -> TLS-capable sink (plain: smtp-source cannot do TLS): the machine's limit
#   postfix-handshake smtp-source -> Postfix 3.7 (fsync'd queue, smtp_tls_security_level=verify) -> sink, a TLS
#                     handshake per message (smtp_tls_connection_reuse = no, Postfix's default)
#   postfix-reuse     the same with TLS connection reuse (tlsproxy, smtp_tls_connection_reuse = yes)
#   tlsrelay          smtp-source -> tlsrelay (durable spool: fsync before 250; enforce policy for the sink's domain,
#                     verified STARTTLS; DNS from a loopback stub) -> sink
# The relay scenarios run in ROUNDS alternated rounds (default 3); each measurement starts fresh relay and sink
# processes, relays WARMUP messages (default MESSAGES/2) that are not measured, then MESSAGES measured ones.
# Per measurement it prints: end-to-end msg/s, the relay's CPU per message (user+sys of every process of the relay,
# from a cpuacct cgroup, so Postfix's short-lived children count too), the front's (the receiving sink's) CPU per
# message, and the TLS connections the measured messages took. Then the medians, and on its last line the ratio
# tlsrelay / the better Postfix variant.
# Usage: bench/run.sh [MESSAGES] [SESSIONS] [SIZE_BYTES]   (defaults 3000 20 10240)
# Environment: ROUNDS, WARMUP, SCENARIOS (subset of "postfix-handshake postfix-reuse tlsrelay"), LIMIT_SECONDS,
#   BENCH_BUILD=no (use the build of the last run), RELAY_JAVA_OPTS (extra JVM options for tlsrelay, e.g. a JFR
#   recording), BENCH_DNSSEC (validate|off),
#   PROFILE_HOOK (a command run as "HOOK start|stop PID" around tlsrelay's measured round, e.g. to start and dump a
#   JFR recording with jcmd, or load async-profiler with "jcmd PID JVMTI.agent_load", so that a profile covers
#   only the measured messages).
#   Variants of tlsrelay, alternated with the rest in each round: a scenario "tlsrelay:NAME" runs tlsrelay with the
#   JVM options of RELAY_OPTS_NAME added, and/or the jar RELAY_JAR_NAME (another build, e.g. of main), e.g.
#     SCENARIOS="tlsrelay tlsrelay:jdktls" RELAY_OPTS_jdktls="-Dtlsrelay.outbound.tls=jdk" bench/run.sh
#   (the ratio on the last line is plain tlsrelay's).
# Needs root: it installs Postfix from Debian packages when missing, runs a Postfix instance and makes cgroups.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MSGS=${1:-3000}
SESS=${2:-20}
SIZE=${3:-10240}
WARMUP=${WARMUP:-$((MSGS / 2))}
ROUNDS=${ROUNDS:-3}
SCENARIOS=${SCENARIOS:-postfix-handshake postfix-reuse tlsrelay}
LIMIT_SECONDS=${LIMIT_SECONDS:-600}     # per measurement: the run never goes on longer than this
WORK=$(mktemp -d /tmp/tlsrelay-bench.XXXXXX)
chmod 755 "$WORK"   # Postfix runs as user postfix and must reach its queue
CG_ROOT=/sys/fs/cgroup/cpuacct
CG_PREFIX="tlsrelay-bench-$$"
PIDS=()
HOOK_PID=""   # the relay under measurement, for PROFILE_HOOK
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  postfix_stop
  wait 2>/dev/null || true
  for cg in "$CG_ROOT/$CG_PREFIX"-*; do [ -d "$cg" ] && rmdir "$cg" 2>/dev/null || true; done
}
trap cleanup EXIT
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- prerequisites ----
if ! command -v smtp-source >/dev/null || ! command -v postfix >/dev/null; then
  log "installing postfix (for smtp-source and the Postfix relay) from Debian packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi
[ -w "$CG_ROOT" ] || { echo "bench/run.sh: needs a writable cpuacct cgroup at $CG_ROOT (run as root)" >&2; exit 2; }
CP_FILE="$ROOT/relay-cli/target/bench-classpath.txt"
if [ "${BENCH_BUILD:-yes}" = no ] && [ -s "$CP_FILE" ]; then
  log "using the tlsrelay built before (BENCH_BUILD=no)"
else
  log "building tlsrelay"
  # One reactor run: the classpath of relay-cli's tests (written last) includes the other modules' test kits.
  (cd "$ROOT" && mvn -B -q package dependency:build-classpath -DskipTests -Dmdep.includeScope=test \
     -Dmdep.outputFile="$CP_FILE" >/dev/null)
fi
CP="$ROOT/relay-cli/target/test-classes:$ROOT/relay-core/target/test-classes:$(cat "$CP_FILE")"
JAR="$ROOT/relay-cli/target/tlsrelay.jar"

now_ms() { date +%s%3N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for_file() { # file seconds
  local i=0
  while [ ! -s "$1" ]; do
    sleep 0.05; i=$((i + 1))
    if [ $i -gt $(($2 * 20)) ]; then log "timed out waiting for $1"; return 1; fi
  done
}

# ---- CPU accounting: one cpuacct cgroup per role; a process started in it takes its children along ----
cg_new() { # name -> path (a fresh, empty cgroup)
  local cg="$CG_ROOT/$CG_PREFIX-$1"
  [ -d "$cg" ] && rmdir "$cg" 2>/dev/null || true
  mkdir -p "$cg"
  echo "$cg"
}
cg_ms() { awk '{printf "%d", $1 / 1000000}' "$1/cpuacct.usage"; }
cg_sys_ms() { awk '{printf "%d", $1 / 1000000}' "$1/cpuacct.usage_sys"; }
# Runs the command inside the cgroup, as the same process (so that $! of "in_cg ... &" is the command's PID).
IN_CG='echo $$ > "$0/cgroup.procs" && exec "$@"'
in_cg() { # cgroup command...
  local cg=$1; shift
  sh -c "$IN_CG" "$cg" "$@"
}

start_sink() { # name -> sets SINK_PORT, SINK_PID, FRONT_CG; the sink writes $WORK/$name.done after the messages
  local name=$1
  rm -f "$WORK/$name.port" "$WORK/$name.done" "$WORK/$name.warm"
  FRONT_CG=$(cg_new front)
  sh -c "$IN_CG" "$FRONT_CG" java -cp "$CP" org.tlsrelay.bench.TlsSink --name sink.bench.test --ca-out "$WORK/ca.pem" \
    --port-file "$WORK/$name.port" --done-file "$WORK/$name.done" --expect "$MSGS" \
    --warmup "$WARMUP" --warm-file "$WORK/$name.warm" >"$WORK/$name.log" 2>&1 &
  SINK_PID=$!
  PIDS+=("$SINK_PID")
  wait_for_file "$WORK/$name.port" 30
  SINK_PORT=$(cat "$WORK/$name.port")
}

# Sends WARMUP then MSGS messages through 127.0.0.1:port; the rate counts from the first byte of the measured round to
# the last message at the sink. Appends "scenario rate relay_ms front_ms tls" to $WORK/results.
measure() { # scenario name port relay_cgroup
  local scenario=$1 name=$2 port=$3 relay_cg=$4 start end accepted
  if [ "$WARMUP" -gt 0 ]; then
    timeout "$LIMIT_SECONDS" smtp-source -s "$SESS" -l "$SIZE" -m "$WARMUP" -M bench.test \
      -f sender@bench.test -t rcpt@bench.test "127.0.0.1:$port" >"$WORK/$name.warmup.log" 2>&1
    wait_for_file "$WORK/$name.warm" "$LIMIT_SECONDS"
  fi
  local relay0 front0 relay1 front1 sys0 sys1
  if [ -n "${PROFILE_HOOK:-}" ] && [ -n "${HOOK_PID:-}" ]; then $PROFILE_HOOK start "$HOOK_PID" || true; fi
  relay0=$(cg_ms "$relay_cg"); front0=$(cg_ms "$FRONT_CG"); sys0=$(cg_sys_ms "$relay_cg")
  start=$(now_ms)
  timeout "$LIMIT_SECONDS" smtp-source -s "$SESS" -l "$SIZE" -m "$MSGS" -M bench.test \
    -f sender@bench.test -t rcpt@bench.test "127.0.0.1:$port" >"$WORK/$name.source.log" 2>&1
  accepted=$(now_ms)
  wait_for_file "$WORK/$name.done" "$LIMIT_SECONDS"
  relay1=$(cg_ms "$relay_cg"); front1=$(cg_ms "$FRONT_CG"); sys1=$(cg_sys_ms "$relay_cg")
  if [ -n "${PROFILE_HOOK:-}" ] && [ -n "${HOOK_PID:-}" ]; then $PROFILE_HOOK stop "$HOOK_PID" || true; fi
  end=$(awk '{print $2}' "$WORK/$name.done")
  local tls rate relay_ms front_ms accept_rate sys_ms
  tls=$(awk '{print $4}' "$WORK/$name.done")
  rate=$(awk -v n="$MSGS" -v s="$start" -v e="$end" 'BEGIN{printf "%.0f", n*1000/(e-s)}')
  accept_rate=$(awk -v n="$MSGS" -v s="$start" -v e="$accepted" 'BEGIN{printf "%.0f", n*1000/(e-s)}')
  relay_ms=$(awk -v c=$((relay1 - relay0)) -v n="$MSGS" 'BEGIN{printf "%.2f", c/n}')
  front_ms=$(awk -v c=$((front1 - front0)) -v n="$MSGS" 'BEGIN{printf "%.2f", c/n}')
  sys_ms=$(awk -v c=$((sys1 - sys0)) -v n="$MSGS" 'BEGIN{printf "%.2f", c/n}')
  printf '%-18s %5s msg/s end-to-end  relay %5s ms/msg (kernel %s)  front %5s ms/msg  TLS connections %5s  (accepted at %s msg/s; load %s)\n' \
    "$scenario" "$rate" "$relay_ms" "$sys_ms" "$front_ms" "$tls" "$accept_rate" "$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "$scenario $rate $relay_ms $front_ms $tls $sys_ms" >>"$WORK/results"
  kill "$SINK_PID" 2>/dev/null || true
  wait "$SINK_PID" 2>/dev/null || true
}

# ---- Postfix ----
PF="$WORK/postfix"
postfix_stop() {
  if [ -f "$PF/etc/main.cf" ]; then
    postfix -c "$PF/etc" stop >/dev/null 2>&1 || true
    for _ in $(seq 1 100); do pgrep -f "master -c $PF/etc" >/dev/null 2>&1 || pgrep -u postfix -f "$PF" >/dev/null 2>&1 || break; sleep 0.1; done
    postconf -X alternate_config_directories >/dev/null 2>&1 || true
  fi
}
run_postfix() { # scenario reuse(yes|no)
  local scenario=$1 reuse=$2
  start_sink "$scenario"
  postfix_stop
  rm -rf "$PF"
  mkdir -p "$PF/etc" "$PF/queue" "$PF/data"
  cp /etc/postfix/master.cf "$PF/etc/master.cf"
  cp "$WORK/ca.pem" "$PF/etc/ca.pem"
  # No chroot (the instance lives in /tmp), and an smtpd on a free loopback port.
  sed -i -E 's/^(smtp +inet +n +- +)y/\1n/; s/^([a-z]+ +unix +- +- +)y/\1n/' "$PF/etc/master.cf"
  local port
  port=$(free_port)
  sed -i -E "s/^smtp +inet /127.0.0.1:$port inet /" "$PF/etc/master.cf"
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
smtp_tls_connection_reuse = $reuse
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
  local cg
  cg=$(cg_new relay)
  in_cg "$cg" postfix -c "$PF/etc" start >"$WORK/postfix.start.log" 2>&1 || { cat "$WORK/postfix.start.log" >&2; exit 1; }
  for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  measure "$scenario" "$scenario" "$port" "$cg"
  postfix_stop
}

# ---- tlsrelay ----
DNS_PORT=""
run_tlsrelay() { # scenario (tlsrelay or tlsrelay:NAME)
  local scenario=$1 name=${1//:/-} variant_opts="" jar=$JAR
  if [ "$scenario" != tlsrelay ]; then
    local opts="RELAY_OPTS_${scenario#tlsrelay:}" jarvar="RELAY_JAR_${scenario#tlsrelay:}"
    variant_opts=${!opts:-}
    jar=${!jarvar:-$JAR}
    [ -n "$variant_opts" ] || [ "$jar" != "$JAR" ] ||
      { echo "bench/run.sh: $scenario needs \$$opts (JVM options) or \$$jarvar (a jar)" >&2; exit 2; }
  fi
  start_sink "$name"
  if [ -z "$DNS_PORT" ]; then
    java -cp "$CP" org.tlsrelay.bench.BenchDns --zone bench.test --mx sink.bench.test --address 127.0.0.1 \
      --port-file "$WORK/dns.port" >"$WORK/dns.log" 2>&1 &
    PIDS+=($!)
    wait_for_file "$WORK/dns.port" 30
    DNS_PORT=$(cat "$WORK/dns.port")
  fi
  rm -rf "$WORK/tlsrelay"
  local port
  port=$(free_port)
  cat >"$WORK/tlsrelay.yaml" <<YAML
server:
  listen: "127.0.0.1:$port"
  hostname: relay.bench.test
spool:
  dir: $WORK/tlsrelay/spool
delivery:
  port: $SINK_PORT
  trust: { system: false, extra-ca: ["$WORK/ca.pem"] }
dns:
  servers: ["127.0.0.1:$DNS_PORT"]
  dnssec: ${BENCH_DNSSEC:-off}   # the benchmark's DNS stub has no DNSSEC (validate would make run refuse it)
policy:
  mta-sts: { enabled: false }
  overrides:
    bench.test: { mode: enforce, mxs: [sink.bench.test] }
reports:
  enabled: false
admin:
  listen: "127.0.0.1:0"
YAML
  local cg
  cg=$(cg_new relay)
  # shellcheck disable=SC2086
  # The relay as it ships: through its launcher (its JVM defaults and class-data archive), which execs the JVM (so $!
  # is the relay); another build's jar (RELAY_JAR_NAME) runs with plain java -jar and only the options given.
  if [ "$jar" = "$JAR" ]; then
    # shellcheck disable=SC2086
    JAVA_OPTS="${RELAY_JAVA_OPTS:-} $variant_opts" sh -c "$IN_CG" "$cg" "$ROOT/relay-cli/target/tlsrelay" \
      run --config "$WORK/tlsrelay.yaml" >"$WORK/tlsrelay.log" 2>&1 &
  else
    # shellcheck disable=SC2086
    sh -c "$IN_CG" "$cg" java ${RELAY_JAVA_OPTS:-} $variant_opts -jar "$jar" run --config "$WORK/tlsrelay.yaml" \
      >"$WORK/tlsrelay.log" 2>&1 &
  fi
  local pid=$!
  PIDS+=("$pid")
  HOOK_PID=$pid
  for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  measure "$scenario" "$name" "$port" "$cg"
  HOOK_PID=""
  local rss
  rss=$(awk '/VmHWM/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  echo "                   tlsrelay peak RSS $((rss / 1024)) MB"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

echo "tlsrelay benchmark: $MSGS messages of $SIZE bytes, $SESS sessions, after $WARMUP warm-up messages, $ROUNDS round(s), loopback only ($(nproc) cores, $(uptime | sed 's/.*load average/load average/'))"
: >"$WORK/results"

# ---- the loopback limit, once ----
start_sink loopback
measure loopback loopback "$SINK_PORT" "$(cg_new none)"

for round in $(seq 1 "$ROUNDS"); do
  echo "-- round $round"
  for s in $SCENARIOS; do
    case "$s" in
      postfix-handshake) run_postfix postfix-handshake no ;;
      postfix-reuse) run_postfix postfix-reuse yes ;;
      tlsrelay | tlsrelay:*) run_tlsrelay "$s" ;;
      *) echo "unknown scenario $s" >&2; exit 2 ;;
    esac
  done
done

# ---- medians ----
median() { sort -n | awk '{a[NR]=$1} END{ if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2 }'; }
echo
echo "| scenario | end-to-end msg/s | relay CPU ms/msg | of it kernel | front CPU ms/msg | TLS connections |"
echo "|---|---:|---:|---:|---:|---:|"
for s in loopback $SCENARIOS; do
  col() { awk -v s="$s" -v c="$1" '$1==s {print $c}' "$WORK/results" | median; }
  echo "| $s | $(col 2) | $(col 3) | $(col 6) | $(col 4) | $(col 5) |"
done
pf_best=""; pf_cpu=""
for s in postfix-handshake postfix-reuse; do
  r=$(awk -v s="$s" '$1==s {print $2}' "$WORK/results" | median)
  [ "$r" = "-" ] && continue
  if [ -z "$pf_best" ] || awk -v a="$r" -v b="$pf_best" 'BEGIN{exit !(a>b)}'; then
    pf_best=$r; pf_name=$s; pf_cpu=$(awk -v s="$s" '$1==s {print $3}' "$WORK/results" | median)
  fi
done
tr_rate=$(awk '$1=="tlsrelay" {print $2}' "$WORK/results" | median)
tr_cpu=$(awk '$1=="tlsrelay" {print $3}' "$WORK/results" | median)
if [ -n "$pf_best" ] && [ "$tr_rate" != "-" ]; then
  echo "ratio tlsrelay/Postfix: $(awk -v a="$tr_rate" -v b="$pf_best" 'BEGIN{printf "%.2f", a/b}') (against $pf_name; tlsrelay's CPU per message is $(awk -v a="$tr_cpu" -v b="$pf_cpu" 'BEGIN{printf "%.2f", a/b}') of Postfix's)"
fi
