#!/usr/bin/env bash
# Start-up benchmark of the launcher (not part of `mvn verify`): wall time of `tlsrelay run` from exec to its 220
# banner on a fresh spool, and of short commands (`--version`, `queue list`), each over several runs; medians.
# Usage: bench/startup.sh [runs, default 5] [launcher, default relay-cli/target/tlsrelay]
# Extra JVM options through JAVA_OPTS as usual; TLSRELAY_CDS=off runs without the class-data archive.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
launcher=$(realpath "${2:-relay-cli/target/tlsrelay}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

now_ms() { date +%s%3N; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

banner_once() {
  local port admin dir pid t0 t1
  port=$(free_port)
  admin=$(free_port)
  dir=$(mktemp -d "$work/run.XXXX")
  cat >"$dir/tlsrelay.yaml" <<EOF
server:
  listen: "127.0.0.1:$port"
  hostname: bench.test
spool:
  dir: $dir/spool
  min-free: 1MB
dns:
  servers: ["127.0.0.1:9"]
  dnssec: off
reports:
  enabled: false
admin:
  listen: "127.0.0.1:$admin"
EOF
  t0=$(now_ms)
  "$launcher" run --config "$dir/tlsrelay.yaml" >"$dir/out" 2>&1 &
  pid=$!
  # Poll for the banner: connect and read the first line (bash /dev/tcp, no extra process per try).
  while :; do
    if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
      local line
      if IFS= read -r -t 5 line <&3 && [[ $line == 220* ]]; then
        t1=$(now_ms)
        exec 3>&-
        break
      fi
      exec 3>&-
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "run ended before its banner:" >&2
      cat "$dir/out" >&2
      return 1
    fi
    sleep 0.01
  done
  kill -TERM "$pid"
  wait "$pid" || true
  echo $((t1 - t0))
}

command_once() {
  local t0 t1
  t0=$(now_ms)
  "$@" >/dev/null 2>&1
  t1=$(now_ms)
  echo $((t1 - t0))
}

spool=$work/queue-list
mkdir -p "$spool"
printf 'spool:\n  dir: %s/spool\n' "$spool" >"$spool/tlsrelay.yaml"
"$launcher" queue list --config "$spool/tlsrelay.yaml" >/dev/null 2>&1 || true

echo "tlsrelay start-up: $runs runs each, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), JAVA_OPTS='${JAVA_OPTS:-}' TLSRELAY_CDS=${TLSRELAY_CDS:-auto}"
command_once "$launcher" --version >/dev/null # warm the page cache
for what in banner version queue-list; do
  times=()
  for _ in $(seq "$runs"); do
    case $what in
      banner) times+=("$(banner_once)") ;;
      version) times+=("$(command_once "$launcher" --version)") ;;
      queue-list) times+=("$(command_once "$launcher" queue list --config "$spool/tlsrelay.yaml")") ;;
    esac
  done
  printf '  %-10s median %5s ms   (runs: %s)\n' "$what" "$(printf '%s\n' "${times[@]}" | median)" "${times[*]}"
done
