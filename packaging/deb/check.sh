#!/usr/bin/env bash
# Checks the Debian package: dpkg-deb --info/--contents, lintian (no error or warning allowed), then installs it with
# dpkg -i in a container running systemd and runs it as a service: user, directories and modes, `systemctl start`,
# one message over SMTP, /health, `systemctl stop` (exit 0), `systemd-analyze verify` and `security`, purge.
#   packaging/deb/check.sh                 # builds the package first (mvn -B -q package -DskipTests -Pdeb)
#   DEB=path/to/tlsrelay_X_all.deb packaging/deb/check.sh
# Needs dpkg-deb and lintian (apt-get install lintian), and podman as root for the installation (a local Debian
# image with Java 17: TEST_BASE, default localhost/jre17 from ../shared/container/make-base-images.sh). INSTALL=0
# skips the installation.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -z "${DEB:-}" ]; then
  mvn -B -q package -DskipTests -Pdeb
  DEB=$(ls relay-cli/target/tlsrelay_*_all.deb)
fi
echo "== dpkg-deb --info $DEB"
dpkg-deb --info "$DEB"
echo "== dpkg-deb --contents"
dpkg-deb --contents "$DEB"
echo "== lintian"
lintian --fail-on error,warning --info --display-info "$DEB" 2>&1 | grep -v '^running with root privileges'
echo "lintian: no error, no warning"

[ "${INSTALL:-1}" = 1 ] || exit 0
if [ -f ../shared/container/podman-env.sh ]; then
  # shellcheck source=/dev/null
  . ../shared/container/podman-env.sh
fi
image=localhost/tlsrelay-deb-test
name=tlsrelay-deb-test-$$
ctx=$(mktemp -d)
trap 'podman rm -f -t 0 "$name" >/dev/null 2>&1 || true; rm -rf "$ctx"' EXIT
# The test system: Debian with Java 17 (the package's dependency), adduser (postinst), systemd as init, and man
# (systemd-analyze verify checks the unit's Documentation=man:tlsrelay(1)).
cat > "$ctx/Containerfile" <<CF
FROM ${TEST_BASE:-localhost/jre17}
RUN apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd systemd-sysv adduser man-db >/dev/null \\
 && rm -rf /var/lib/apt/lists/*
CF
podman build -q -f "$ctx/Containerfile" -t "$image" "$ctx" >/dev/null
cp "$DEB" "$ctx/tlsrelay.deb"
cat > "$ctx/test.sh" <<'TEST'
set -euo pipefail
for _ in $(seq 30); do systemctl is-system-running >/dev/null 2>&1 && break; sleep 1; done
fail() { echo "FAILED: $*" >&2; exit 1; }
echo "-- dpkg -i"
dpkg -i /check/tlsrelay.deb
echo "-- the tlsrelay system user and the files"
getent passwd tlsrelay
[ "$(id -u tlsrelay)" -lt 1000 ] || fail "tlsrelay is not a system user"
stat -c '%A %U:%G %n' /var/lib/tlsrelay /etc/tlsrelay /etc/tlsrelay/tlsrelay.yaml /usr/bin/tlsrelay
[ "$(stat -c '%a %U' /var/lib/tlsrelay)" = "700 tlsrelay" ] || fail "/var/lib/tlsrelay is not tlsrelay's, 0700"
[ "$(stat -c '%a %G' /etc/tlsrelay/tlsrelay.yaml)" = "640 tlsrelay" ] || fail "the configuration is not 0640 root:tlsrelay"
tlsrelay --version
runuser -u tlsrelay -- tlsrelay config check # the installed configuration, by default
echo "-- systemd-analyze verify"
systemd-analyze verify /lib/systemd/system/tlsrelay.service && echo "verify: OK"
# No mail leaves the test: the relay's DNS points at nothing (the message stays deferred).
printf 'dns: { servers: ["127.0.0.1:9"], timeout: 1s, dnssec: off }\n' >> /etc/tlsrelay/tlsrelay.yaml
echo "-- systemctl start tlsrelay"
systemctl is-enabled tlsrelay
systemctl start tlsrelay
for _ in $(seq 90); do
  if { exec 3<>/dev/tcp/127.0.0.1/8025; } 2>/dev/null; then
    printf 'GET /ready HTTP/1.0\r\n\r\n' >&3
    if head -1 <&3 | grep -q ' 200'; then break; fi
  fi
  sleep 1
done
systemctl is-active tlsrelay
echo "-- one message over SMTP"
exec 3<>/dev/tcp/127.0.0.1/2525
printf 'EHLO test\r\nMAIL FROM:<app@example.org>\r\nRCPT TO:<someone@example.net>\r\nDATA\r\n' >&3
printf 'Subject: packaged\r\n\r\nhello\r\n.\r\nQUIT\r\n' >&3
reply=$(timeout 10 cat <&3 | tr -d '\r' | grep '^250 2.0.0')
echo "$reply"
id=${reply##* }
# one look (the message moves between queue directories while it is delivered)
spooled=$(find /var/lib/tlsrelay/spool -name "$id.eml" -printf '%m %M %u %p\n')
[ -n "$spooled" ] || fail "message $id is not in the spool"
echo "${spooled#* }"
[ "${spooled%% *}" = 600 ] || fail "the queued message is not 0600"
exec 3<>/dev/tcp/127.0.0.1/8025
printf 'GET /health HTTP/1.0\r\n\r\n' >&3
timeout 5 cat <&3 | tr -d '\r' | sed -n '1p;$p'; echo
echo "-- systemd-analyze security"
systemd-analyze security tlsrelay --no-pager | tail -1
echo "-- systemctl stop tlsrelay"
start=$SECONDS
systemctl stop tlsrelay
systemctl show tlsrelay -p Result -p ExecMainStatus
[ "$(systemctl show tlsrelay -p ExecMainStatus --value)" = 0 ] || fail "tlsrelay did not exit 0 on stop"
echo "stopped in $((SECONDS - start)) s"
journalctl -u tlsrelay --no-pager | grep -E 'listening on|stopp' | sed 's/^.*tlsrelay\[[0-9]*\]: //'
echo "-- dpkg --purge"
dpkg --purge tlsrelay
[ ! -e /var/lib/tlsrelay ] || fail "/var/lib/tlsrelay is still there after purge"
getent passwd tlsrelay >/dev/null && echo "the tlsrelay user stays (as Debian leaves system users)"
TEST
podman run -d --name "$name" --systemd=always -v "$ctx:/check:ro" "$image" /sbin/init >/dev/null
echo "== in a container with systemd ($image)"
podman exec "$name" bash /check/test.sh
echo "OK: the package installs, runs as a service, stops cleanly and purges"
