#!/bin/bash
# The image's HEALTHCHECK: GET /health from the relay's admin server with bash alone. No JVM is started, so a check
# costs a few milliseconds of CPU and no memory (a `tlsrelay health` took 1-3 s of CPU and ~90 MB per check).
# TLSRELAY_ADMIN_PORT: the port of admin.listen (default 8025); the check asks 127.0.0.1.
# Exit 0 when the relay answers 200; otherwise 1, with the status line and body on standard output (docker inspect
# shows them in the health log).
port=${TLSRELAY_ADMIN_PORT:-8025}
if ! exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
  echo "no answer on 127.0.0.1:$port (admin.listen)"
  exit 1
fi
printf 'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
IFS=$'\r' read -r -t 5 status <&3 || { echo "no HTTP answer from 127.0.0.1:$port"; exit 1; }
case $status in
  "HTTP/1."?" 200"*) exit 0 ;;
esac
body=$(timeout 2 cat <&3)
echo "$status ${body##*$'\r\n'}"
exit 1
