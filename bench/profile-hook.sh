#!/usr/bin/env bash
# A PROFILE_HOOK for bench/run.sh: looks at tlsrelay during its measured round only (not start-up, not warm-up).
#   PROFILE_HOOK=bench/profile-hook.sh bench/run.sh ...
# Always: the CPU time of each of the relay's threads over the round (user and kernel, from /proc; no overhead),
# summed by thread name into PROFILE_DIR/tlsrelay-N.threads.
# With AP_LIB pointing at async-profiler's libasyncProfiler.so (the Maven Central artifact
# tools.profiler:async-profiler, classifier linux-x64, holds it): CPU samples every PROFILE_INTERVAL (default 1ms)
# with kernel stacks and thread names, as collapsed stacks; bench/attribute.py sums them by part of the relay.
# With PROFILE_JFR=yes: a JFR recording (settings=profile; Java frames only, no kernel, no JIT threads).
# N counts the measured rounds up.
set -euo pipefail
what=$1 pid=$2
dir=${PROFILE_DIR:-/tmp/tlsrelay-profiles}
mkdir -p "$dir"
n=$(find "$dir" -maxdepth 1 -name 'tlsrelay-*.threads' | wc -l)
n=$((n + 1))   # this round: the rounds before it have their .threads file
out="$dir/tlsrelay-$n"

# thread name (digits folded to N) and utime+stime in clock ticks, per thread
threads() {
  for t in /proc/"$pid"/task/*; do
    printf '%s\t%s\n' "$(tr -s '0-9' 'N' <"$t/comm" 2>/dev/null)" \
      "$(awk '{sub(/.*\) /, ""); print $12, $13}' "$t/stat" 2>/dev/null)"
  done
}
case "$what" in
  start)
    threads >"$out.threads-start"
    ;;
  stop)
    threads >"$out.threads-stop"
    hz=$(getconf CLK_TCK)
    # a thread that ended during the round is missed; one that started is counted from 0
    awk -F'\t' -v hz="$hz" '
      NR == FNR { split($2, a, " "); u0[$1] += a[1]; s0[$1] += a[2]; next }
      { split($2, a, " "); u[$1] += a[1]; s[$1] += a[2] }
      END { for (k in u) { du = u[k] - u0[k]; ds = s[k] - s0[k]; if (du + ds > 0)
              printf "%-28s %8.2f s user %8.2f s kernel\n", k, du / hz, ds / hz } }' \
      "$out.threads-start" "$out.threads-stop" | sort -k2 -rn >"$out.threads"
    rm -f "$out.threads-start" "$out.threads-stop"
    ;;
esac

if [ -n "${AP_LIB:-}" ]; then
  case "$what" in
    # one argument for jcmd, or it takes the options' "key=value" for its own
    start) jcmd "$pid" "JVMTI.agent_load $AP_LIB \"start,event=cpu,interval=${PROFILE_INTERVAL:-1ms},threads\"" >/dev/null ;;
    stop) jcmd "$pid" "JVMTI.agent_load $AP_LIB \"stop,file=$out.collapsed,collapsed\"" >/dev/null ;;
  esac
elif [ "${PROFILE_JFR:-no}" = yes ]; then
  case "$what" in
    start) jcmd "$pid" JFR.start name=bench settings=profile >/dev/null ;;
    stop) jcmd "$pid" JFR.stop name=bench filename="$out.jfr" >/dev/null ;;
  esac
fi
