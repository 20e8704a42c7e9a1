#!/usr/bin/env bash
# Builds the image and checks that the relay starts, answers SMTP and reports healthy.
# Needs a Docker daemon and access to the base images; skips (exit 0) with a clear message otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "SKIPPED: no Docker daemon available here; the image was not built."
  exit 0
fi
if ! docker build -f docker/Dockerfile -t tlsrelay:smoke . ; then
  echo "FAILED: docker build (are the base images reachable?)" >&2
  exit 1
fi
name=tlsrelay-smoke-$$
docker run -d --name "$name" -p 127.0.0.1::2525 -p 127.0.0.1::8025 tlsrelay:smoke >/dev/null
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
smtp_port=$(docker port "$name" 2525/tcp | head -1 | sed 's/.*://')
admin_port=$(docker port "$name" 8025/tcp | head -1 | sed 's/.*://')
for _ in $(seq 1 30); do
  if curl -fsS "http://127.0.0.1:$admin_port/health" >/dev/null 2>&1; then
    break
  fi
  sleep 1
done
curl -fsS "http://127.0.0.1:$admin_port/health"; echo
banner=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$smtp_port; head -1 <&3")
case "$banner" in
  220*) echo "SMTP banner: $banner" ;;
  *) echo "FAILED: no SMTP banner (got: $banner)" >&2; docker logs "$name" >&2; exit 1 ;;
esac
echo "OK: image builds, starts, answers SMTP and reports healthy."
