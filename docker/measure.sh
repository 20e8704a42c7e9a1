#!/usr/bin/env bash
# Measures what the image needs: the relay's resident memory (RSS) at idle and while it relays a load, under a memory
# limit, and the health check's time while the relay is busy on a small CPU share. docker/README.md has the figures.
#   docker/measure.sh                       # podman (as root) or docker, image tlsrelay:local
# Env: IMAGE (tlsrelay:local), MEMORY (512m), CPUS (1), MESSAGES (5000), SESSIONS (20), SIZE (10240 bytes),
#      TOOLS_BASE (localhost/debian:bookworm: a Debian image to install Postfix's smtp-source/smtp-sink and dnsmasq in).
# Everything runs in one pod (one network namespace, loopback only): dnsmasq says MX load.test is 127.0.0.1,
# smtp-sink plays the MX on port 2626, smtp-source submits to the relay.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
engine=${ENGINE:-$(command -v podman >/dev/null 2>&1 && echo podman || echo docker)}
[ "$engine" = podman ] || { echo "measure.sh needs podman (it uses a pod)" >&2; exit 2; }
if [ -f "$here/../../shared/container/podman-env.sh" ]; then
  # shellcheck source=/dev/null
  . "$here/../../shared/container/podman-env.sh"
fi
IMAGE=${IMAGE:-tlsrelay:local}
MEMORY=${MEMORY:-512m}
CPUS=${CPUS:-1}
MESSAGES=${MESSAGES:-5000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-10240}
tools=localhost/tlsrelay-load-tools
pod=tlsrelay-measure-$$
work=$(mktemp -d)
cleanup() {
  podman pod rm -f -t 0 "$pod" >/dev/null 2>&1 || true
  podman volume rm -f "$pod-data" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! podman image exists "$tools"; then
  printf 'FROM %s\nRUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix dnsmasq-base >/dev/null && rm -rf /var/lib/apt/lists/*\n' \
    "${TOOLS_BASE:-localhost/debian:bookworm}" > "$work/Containerfile"
  podman build -q -t "$tools" -f "$work/Containerfile" "$work" >/dev/null
fi
cat > "$work/tlsrelay.yaml" <<'YAML'
server: { listen: "127.0.0.1:2525", hostname: relay.example.org, shutdown-grace: 8s }
spool: { dir: /var/lib/tlsrelay/spool }
admin: { listen: "127.0.0.1:8025" }
dns: { servers: ["127.0.0.1:5353"], dnssec: off }
delivery: { port: 2626 }
YAML
chmod 644 "$work/tlsrelay.yaml"; chmod 755 "$work"

podman pod create --name "$pod" >/dev/null
podman run -d --pod "$pod" --name "$pod-tools" "$tools" sh -c '
  dnsmasq --port 5353 --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts --local=/load.test/ \
          --mx-host=load.test,mx.load.test,10 --host-record=mx.load.test,127.0.0.1
  exec smtp-sink -u nobody 127.0.0.1:2626 1000' >/dev/null
podman run -d --pod "$pod" --name "$pod-relay" --memory "$MEMORY" --cpus "$CPUS" -v "$pod-data:/var/lib/tlsrelay" \
  -v "$work/tlsrelay.yaml:/etc/tlsrelay/tlsrelay.yaml:ro" "$IMAGE" >/dev/null
pid=$(podman inspect --format '{{.State.Pid}}' "$pod-relay")
rss() { awk '/^VmRSS/ {printf "%d", $2/1024}' "/proc/$pid/status"; }
hwm() { awk '/^VmHWM/ {printf "%d", $2/1024}' "/proc/$pid/status"; }
for _ in $(seq 120); do podman exec "$pod-relay" /opt/tlsrelay/healthcheck.sh >/dev/null 2>&1 && break; sleep 1; done
heap=$(podman exec "$pod-relay" sh -c 'java $JAVA_OPTS -XX:+PrintFlagsFinal -version 2>/dev/null' | awk '/ MaxHeapSize / {printf "%d", $4/1048576}')
echo "limits: --memory $MEMORY --cpus $CPUS; JAVA_OPTS as in the image; max heap $heap MiB"
sleep 30
echo "idle (30 s after start): RSS $(rss) MiB"

echo "load: $MESSAGES messages of $SIZE bytes in $SESSIONS sessions, delivered to smtp-sink"
start=$(date +%s.%N)
podman exec "$pod-tools" smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f app@example.org -t rcpt@load.test \
  127.0.0.1:2525 &
source_pid=$!
peak=0; checks=()
while kill -0 "$source_pid" 2>/dev/null; do
  r=$(rss); (( r > peak )) && peak=$r
  # the check's own time, inside the container (podman exec itself takes about a second on a busy host)
  checks+=("$(podman exec "$pod-relay" bash -c 's=$EPOCHREALTIME; if /opt/tlsrelay/healthcheck.sh >/dev/null; then r=ok; else r=FAILED; fi
    e=$EPOCHREALTIME; echo "$(( (${e/./} - ${s/./}) / 1000 ))ms/$r"' 2>/dev/null || echo "exec-failed")")
  sleep 1
done
wait "$source_pid"
submitted=$(date +%s.%N)
queued() { podman exec "$pod-relay" sh -c 'find /var/lib/tlsrelay/spool -name "*.eml" | wc -l'; }
for _ in $(seq 600); do [ "$(queued)" = 0 ] && break; r=$(rss); (( r > peak )) && peak=$r; sleep 1; done
done_at=$(date +%s.%N)
echo "submitted in $(printf '%.1f' "$(echo "$submitted - $start" | bc)") s, all delivered after $(printf '%.1f' "$(echo "$done_at - $start" | bc)") s; still queued: $(queued)"
echo "under load: peak RSS $peak MiB (sampled each second), VmHWM $(hwm) MiB; after: RSS $(rss) MiB"
echo "health checks during the load (time of each check, in the container): ${checks[*]}"
podman exec "$pod-relay" bash -c 'exec 3<>/dev/tcp/127.0.0.1/8025; printf "GET /metrics HTTP/1.0\r\n\r\n" >&3; cat <&3' \
  | grep -E '^tlsrelay_messages_(accepted|delivered)_total|^jvm_memory_used_bytes\{area="(heap|nonheap)"' | head -20
