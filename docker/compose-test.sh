#!/usr/bin/env bash
# Compose test: one message goes Postfix -> tlsrelay -> a test MX, with docker/compose.yaml as users run it plus
# docker/compose-test.yaml (the test MX for example.test and its DNS server).
#   docker/compose-test.sh                    # podman-compose, else docker compose
#   COMPOSE="docker compose" docker/compose-test.sh
# Needs the image tlsrelay:local (docker/README.md: build it first), python3, and a Debian mirror for apt-get in the
# Postfix and test MX containers. Without a compose tool it fails, unless SKIP_OK=1 (then it says SKIPPED, exit 0).
# Host ports: free loopback ports, found here. Removes its containers, network and volumes at the end.
set -euo pipefail
cd "$(dirname "$0")"

if [ -z "${COMPOSE:-}" ]; then
  if command -v podman-compose >/dev/null 2>&1; then
    COMPOSE=podman-compose
  elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    COMPOSE="docker compose"
  else
    if [ "${SKIP_OK:-0}" = 1 ]; then
      echo "SKIPPED: no podman-compose or docker compose here"
      exit 0
    fi
    echo "FAILED: no podman-compose or docker compose here (SKIP_OK=1 to allow skipping)" >&2
    exit 1
  fi
fi
if [ -f ../../shared/container/podman-env.sh ]; then
  # shellcheck source=/dev/null
  . ../../shared/container/podman-env.sh # runc and ulimits on hosts like the project's (see that file)
fi
project=tlsrelay-ctest-$$
# shellcheck disable=SC2206
compose=($COMPOSE -p "$project" -f compose.yaml -f compose-test.yaml)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TLSRELAY_SMTP_PORT=$(free_port)
TLSRELAY_ADMIN_PORT=$(free_port)
POSTFIX_SMTP_PORT=$(free_port)
export TLSRELAY_SMTP_PORT TLSRELAY_ADMIN_PORT POSTFIX_SMTP_PORT

cleanup() {
  local rc=$?
  if [ "$rc" != 0 ]; then
    echo "---- logs" >&2
    "${compose[@]}" logs >&2 2>&1 || true
  fi
  "${compose[@]}" down -v >/dev/null 2>&1 || true
  if [[ $COMPOSE == podman-compose* ]]; then
    podman network rm "${project}_default" >/dev/null 2>&1 || true # podman-compose 1.0 leaves it
  fi
  exit "$rc"
}
trap cleanup EXIT

# Waits up to $1 seconds for the command after it to succeed.
await() {
  local limit=$1; shift
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - start > limit )); then
      echo "FAILED: waited ${limit}s for: $*" >&2
      return 1
    fi
    sleep 2
  done
}

echo "== compose up ($COMPOSE, project $project)"
"${compose[@]}" up -d >/dev/null
await 60 curl -fsS "http://127.0.0.1:$TLSRELAY_ADMIN_PORT/ready"
echo "tlsrelay ready on 127.0.0.1:$TLSRELAY_SMTP_PORT"
# Postfix and the test MX install their packages first. (Their logs tell: podman-compose 1.0's exec does not pass
# on the exit status of the command.)
logged() { "${compose[@]}" logs "$1" 2>&1 | grep -F "$2" >/dev/null; }
await 300 logged testmx "test MX ready"
await 300 logged postfix "daemon started"
echo "Postfix and the test MX are up"

subject="compose test $project $(date +%s)"
echo "== one message to Postfix on 127.0.0.1:$POSTFIX_SMTP_PORT: $subject"
python3 - "$POSTFIX_SMTP_PORT" "$subject" <<'PY'
import smtplib, sys
port, subject = int(sys.argv[1]), sys.argv[2]
msg = f"From: app@example.org\r\nTo: someone@example.test\r\nSubject: {subject}\r\n\r\nhello through Postfix and tlsrelay\r\n"
with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
    print(s.sendmail("app@example.org", ["someone@example.test"], msg) or "Postfix: 250 queued")
PY

# (podman-compose 1.0 prints its own lines on standard output too: keep only the file names)
received() {
  "${compose[@]}" exec -T testmx sh -c "grep -l -F '$subject' /sink/* 2>/dev/null" | tr -d '\r' | grep '^/sink/' | head -1
}
arrived() { [ -n "$(received)" ]; }
await 120 arrived
file=$(received)
echo "== the test MX received it ($file):"
"${compose[@]}" exec -T testmx cat "$file" | tr -d '\r' | sed -n '/^Received:/,$p'
echo "== Postfix's log:"
"${compose[@]}" logs postfix 2>&1 | grep -E 'relay=tlsrelay' | tail -1
echo "== tlsrelay's log:"
"${compose[@]}" logs tlsrelay 2>&1 | grep -E 'someone@example.test|example.test' | tail -3
echo "OK: Postfix -> tlsrelay -> test MX delivered one message"
