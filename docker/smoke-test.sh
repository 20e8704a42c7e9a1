#!/usr/bin/env bash
# Smoke test of the container image, with docker or podman:
#   docker/smoke-test.sh                                   # builds tlsrelay:smoke, then checks it
#   ENGINE=podman BUILD_IMAGE=localhost/maven-jdk17 BASE_IMAGE=localhost/debian:bookworm docker/smoke-test.sh
#   IMAGE=tlsrelay:local docker/smoke-test.sh              # checks an image built before (no build)
# It checks: the HEALTHCHECK is in the image and passes; /health, /ready and /metrics answer; a message is accepted
# (250) and is still queued after the container is replaced by a new one on the same volume; `stop` ends the relay
# with exit 0 within the engine's default 10 s; the container runs with --read-only; a new volume works under an
# arbitrary user ID in group 0, and an unwritable state directory is refused with "permission denied".
# No engine: exit 1, or "SKIPPED" and exit 0 with SKIP_OK=1. The relay's DNS points at 127.0.0.1:9 (nothing): no mail
# leaves, the message stays deferred. Removes its containers and volumes.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f ../shared/container/podman-env.sh ]; then
  # shellcheck source=/dev/null
  . ../shared/container/podman-env.sh # podman here (also behind its docker shim): runc and the host's ulimits
fi
if [ -n "${ENGINE:-}" ]; then
  engine=$ENGINE
elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  engine=docker
elif command -v podman >/dev/null 2>&1 && podman info >/dev/null 2>&1; then
  engine=podman
else
  engine=
fi
if [ -z "$engine" ] || ! "$engine" info >/dev/null 2>&1; then
  if [ "${SKIP_OK:-0}" = 1 ]; then
    echo "SKIPPED: no working docker or podman here; the image was not built or checked"
    exit 0
  fi
  echo "FAILED: no working docker or podman here (SKIP_OK=1 to allow skipping)" >&2
  exit 1
fi

e() { "$engine" "$@"; }
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

run_id=$$
volume=tlsrelay-smoke-$run_id
containers=()
work=$(mktemp -d)
cleanup() {
  local rc=$?
  for c in "${containers[@]}"; do e rm -f "$c" >/dev/null 2>&1 || true; done
  e volume rm -f "$volume" "$volume-uid" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

# ---- build
if [ -z "${IMAGE:-}" ]; then
  IMAGE=tlsrelay:smoke
  args=(build -f docker/Dockerfile -t "$IMAGE")
  [ "$engine" = podman ] && args+=(--format docker) # the OCI format has no HEALTHCHECK
  [ -n "${BUILD_IMAGE:-}" ] && args+=(--build-arg "BUILD_IMAGE=$BUILD_IMAGE")
  [ -n "${BASE_IMAGE:-}" ] && args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
  echo "== $engine ${args[*]} ."
  start=$SECONDS
  e "${args[@]}" . >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; fail "the image does not build"; }
  pass "image built in $((SECONDS - start)) s"
fi
size=$(e image inspect --format '{{.Size}}' "$IMAGE")
echo "image $IMAGE: $((size / 1000000)) MB"

health=$(e image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")
case $health in
  *healthcheck.sh*) pass "HEALTHCHECK in the image: $health" ;;
  *) fail "no HEALTHCHECK in the image (podman: build with --format docker): $health" ;;
esac

# ---- run: read-only root file system, state on a volume
cat > "$work/tlsrelay.yaml" <<'YAML'
server:
  listen: "0.0.0.0:2525"
  hostname: smoke.example.org
  networks: ["127.0.0.0/8", "::1/128", "172.16.0.0/12", "10.0.0.0/8", "192.168.0.0/16"]
  shutdown-grace: 8s
spool: { dir: /var/lib/tlsrelay/spool }
admin: { listen: "0.0.0.0:8025" }
dns: { servers: ["127.0.0.1:9"], timeout: 1s, dnssec: off }
YAML
chmod 755 "$work"; chmod 644 "$work/tlsrelay.yaml"
e volume create "$volume" >/dev/null
start_relay() { # NAME [engine run options...]
  local name=$1; shift
  containers+=("$name")
  e run -d --name "$name" --read-only -v "$volume:/var/lib/tlsrelay" \
    -v "$work/tlsrelay.yaml:/etc/tlsrelay/tlsrelay.yaml:ro" -p 127.0.0.1::2525 -p 127.0.0.1::8025 "$@" "$IMAGE" >/dev/null
}
port_of() { e port "$1" "$2/tcp" | head -1 | sed 's/.*://'; }
await_ready() { # NAME ADMIN_PORT
  for _ in $(seq 120); do
    curl -fsS "http://127.0.0.1:$2/ready" >/dev/null 2>&1 && return 0
    [ "$(e inspect --format '{{.State.Running}}' "$1")" = true ] || { e logs "$1" >&2; fail "$1 stopped"; }
    sleep 1
  done
  e logs "$1" >&2
  fail "$1 not ready after 120 s"
}

first=tlsrelay-smoke-$run_id-a
start_relay "$first"
admin=$(port_of "$first" 8025); smtp=$(port_of "$first" 2525)
await_ready "$first" "$admin"
pass "started with --read-only; ready"
for path in health ready; do
  body=$(curl -fsS "http://127.0.0.1:$admin/$path") || fail "/$path did not answer 200"
  pass "/$path: $body"
done
curl -fsS "http://127.0.0.1:$admin/metrics" | grep -q '^tlsrelay_messages_accepted_total' \
  || fail "/metrics has no tlsrelay_messages_accepted_total"
pass "/metrics: Prometheus text with tlsrelay_messages_accepted_total"
check=$(e inspect --format '{{json .Config.Healthcheck.Test}}' "$first" | tr -d '[]"' | sed 's/^CMD,//; s/,/ /g')
start=$(date +%s%N)
# shellcheck disable=SC2086
e exec "$first" $check >/dev/null || fail "the HEALTHCHECK command ($check) failed"
pass "HEALTHCHECK command ($check) passes; with $engine exec: $(( ($(date +%s%N) - start) / 1000000 )) ms"

# ---- one message, kept across a new container on the same volume
exec 3<>"/dev/tcp/127.0.0.1/$smtp"
printf 'EHLO smoke.test\r\nMAIL FROM:<smoke@example.org>\r\nRCPT TO:<someone@example.net>\r\nDATA\r\n' >&3
printf 'Subject: smoke test\r\n\r\nThis message must survive a restart.\r\n.\r\nQUIT\r\n' >&3
transcript=$(timeout 30 cat <&3 | tr -d '\r')
exec 3<&-
reply=$(grep '^250 2.0.0' <<<"$transcript" || true)
[ -n "$reply" ] || fail "the message was not accepted: $transcript"
id=${reply##* }
pass "SMTP: $reply"
e exec "$first" tlsrelay queue show "$id" >/dev/null || fail "queue show $id: not in the queue"

start=$SECONDS
e stop "$first" >/dev/null
took=$((SECONDS - start))
code=$(e inspect --format '{{.State.ExitCode}}' "$first")
[ "$code" = 0 ] || { e logs "$first" >&2; fail "stop: exit status $code (137: killed after the engine's timeout)"; }
(( took < 10 )) || fail "stop took ${took} s, not within the engine's default 10 s"
pass "stop: exit 0 after ${took} s (server.shutdown-grace 8s, engine timeout 10 s)"

second=tlsrelay-smoke-$run_id-b
start_relay "$second"
await_ready "$second" "$(port_of "$second" 8025)"
e exec "$second" tlsrelay queue show "$id" >"$work/show.txt" || fail "after the restart: $id is not in the queue"
grep -q 'smoke test' "$work/show.txt" || fail "after the restart: $id lost its content"
pass "a new container on the same volume still has $id queued: $(e exec "$second" tlsrelay queue list | grep "$id" | head -1)"
e stop "$second" >/dev/null

# ---- other user IDs
third=tlsrelay-smoke-$run_id-c
containers+=("$third")
e volume create "$volume-uid" >/dev/null
e run -d --name "$third" --read-only --user 4242:0 -v "$volume-uid:/var/lib/tlsrelay" \
  -v "$work/tlsrelay.yaml:/etc/tlsrelay/tlsrelay.yaml:ro" -p 127.0.0.1::8025 "$IMAGE" >/dev/null
await_ready "$third" "$(port_of "$third" 8025)"
pass "--user 4242:0 on a new volume: ready (the state directory is group-0 writable)"
e stop "$third" >/dev/null

fourth=tlsrelay-smoke-$run_id-d
containers+=("$fourth")
mkdir "$work/root-owned" && chmod 755 "$work/root-owned"
e run --name "$fourth" --user 4242:0 -v "$work/root-owned:/var/lib/tlsrelay" \
  -v "$work/tlsrelay.yaml:/etc/tlsrelay/tlsrelay.yaml:ro" "$IMAGE" >"$work/denied.txt" 2>&1 && fail "ran on an unwritable state directory"
code=$(e inspect --format '{{.State.ExitCode}}' "$fourth")
if [ "$code" != 2 ] || ! grep -q '^tlsrelay: permission denied: /var/lib/tlsrelay' "$work/denied.txt"; then
  cat "$work/denied.txt" >&2
  fail "no 'permission denied' (exit $code) on a root-owned bind mount"
fi
pass "root-owned bind mount under --user 4242:0: exit 2, $(grep 'permission denied' "$work/denied.txt")"

echo "OK: $IMAGE passed the smoke test with $engine"
