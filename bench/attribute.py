#!/usr/bin/env python3
"""Sums an async-profiler CPU profile (collapsed stacks, as bench/profile-hook.sh writes them) by part of the relay.

Usage: bench/attribute.py PROFILE.collapsed [CPU_MS_PER_MSG]
Each sample goes to the part of the innermost frame that names one (a Jackson frame under the spool is envelope
encoding, a logback frame under the delivery engine is logging), or to the thread's part (JIT, GC) for JVM threads.
Kernel frames count for the part that called into the kernel, and are shown again in the kernel column. With
CPU_MS_PER_MSG (the relay's CPU per message from bench/run.sh) the shares are turned into ms per message.
"""
import collections
import re
import sys

# thread name (digits folded) -> part, for threads that run no relay code
THREADS = [
    (r"C[N\d] CompilerThre|Sweeper thread", "JIT compiler"),
    (r"GC Thread|G1 |VM Thread|VM Periodic", "GC and JVM"),
    (r"Attach Listener|JFR ", "profiler (not the relay)"),
]
# frame pattern -> part, tried from the innermost frame outwards
FRAMES = [
    (r"ch/qos/logback|org/slf4j|org/tlsrelay/core/log/|org/tlsrelay/core/logging/|DeliveryLog\.|OperatorAction\.log"
     r"|LogLine\.", "logging"),
    (r"EnvelopeCodec|com/fasterxml/jackson", "envelope encoding"),
    (r"io/micrometer|org/tlsrelay/core/metrics", "metrics"),
    (r"sun/security/|com/sun/crypto/|javax/crypto/|javax/net/ssl|io/netty/handler/ssl|io/netty/internal/tcnative"
     r"|TlsInspector|libnetty_tcnative|ssl_|SSL_|EVP_|aes_|gcm_|sha\d+_block|ecp_nistz", "TLS"),
    (r"org/xbill/DNS|org/tlsrelay/smtp/dns|org/tlsrelay/core/dns|CoalescingDns|MxResolvers|MxWalk|PolicyLookup"
     r"|org/tlsrelay/core/policy|org/tlsrelay/core/enforce", "DNS and policy"),
    (r"org/tlsrelay/core/queue", "spool"),
    (r"org/tlsrelay/smtp/inbound|org/subethamail", "inbound SMTP"),
    (r"org/tlsrelay/smtp/outbound|io/netty/handler/codec/smtp", "outbound SMTP"),
    (r"org/tlsrelay/smtp/delivery", "delivery engine (scheduling, settling)"),
    (r"io/netty/", "event loop and socket I/O (Netty)"),
]
KERNEL = re.compile(r"_\[k\]$")


def part_of(thread, frames):
    for pattern, part in THREADS:
        if re.search(pattern, thread):
            return part
    for f in reversed(frames):
        for pattern, part in FRAMES:
            if re.search(pattern, f):
                return part
    return "other (JDK, JVM runtime)"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    total = collections.Counter()
    kernel = collections.Counter()
    spool_by_thread = collections.Counter()
    for line in open(sys.argv[1]):
        stack, _, n = line.rstrip("\n").rpartition(" ")
        frames = stack.split(";")
        thread = re.sub(r"\d+", "N", re.sub(r" tid=\d+\]", "]", frames[0]))
        part = part_of(thread, frames[1:])
        total[part] += int(n)
        if KERNEL.search(frames[-1]):
            kernel[part] += int(n)
        if part == "spool":
            spool_by_thread[thread] += int(n)
    samples = sum(total.values()) - total["profiler (not the relay)"]
    per_msg = float(sys.argv[2]) if len(sys.argv) > 2 else None
    unit = "ms/msg" if per_msg else "share"

    def fmt(n):
        return f"{n / samples * per_msg:.2f}" if per_msg else f"{100 * n / samples:.1f} %"

    print(f"| part | CPU {unit} | of it kernel | share |")
    print("|---|---:|---:|---:|")
    for part, n in total.most_common():
        if part.startswith("profiler"):
            continue
        print(f"| {part} | {fmt(n)} | {fmt(kernel[part])} | {100 * n / samples:.0f} % |")
    print(f"| **all** | {fmt(samples)} | {fmt(sum(v for k, v in kernel.items() if not k.startswith('profiler')))}"
          f" | 100 % |")
    print()
    print("spool by thread: " + ", ".join(f"{t} {100 * n / samples:.1f} %" for t, n in spool_by_thread.most_common(4)))


main()
