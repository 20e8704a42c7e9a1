package org.tlsrelay.smtp.outbound;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.tlsrelay.core.enforce.Admission;
import org.tlsrelay.core.enforce.TlsOutcomeListener;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestPolicies;

/**
 * Throughput of the outbound client alone: 10 KB messages over verified STARTTLS (enforce policy) to a loopback sink
 * (the test MX, in the same JVM), with and without connection reuse. Not part of the test suite; run with
 * {@code mvn -B -q -pl relay-smtp -am -Pbench -DskipTests verify} (system properties {@code bench.messages},
 * {@code bench.concurrency}, {@code bench.reuse=on,off}).
 */
public final class OutboundBenchmark {
    private static final String MX_HOST = "mx.bench.test";

    private OutboundBenchmark() {}

    public static void main(String[] args) throws Exception {
        // one log line per attempt is the product's behaviour, but the console would measure itself
        // here
        ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("org.tlsrelay"))
                .setLevel(ch.qos.logback.classic.Level.WARN);
        int messages = Integer.getInteger("bench.messages", 4000);
        int concurrency = Integer.getInteger("bench.concurrency", 16);
        TestCa ca = TestCa.create("Bench CA");
        byte[] body = body(10 * 1024);
        Admission.Connect policy =
                TestPolicies.permit(
                        TestPolicies.sts("bench.test", PolicyMode.ENFORCE, "*.bench.test"),
                        MX_HOST);
        System.out.printf(
                "outbound client benchmark: %d messages of %d octets, %d in flight, %d cores%n",
                messages, body.length, concurrency, Runtime.getRuntime().availableProcessors());
        try (TestMx sink = TestMx.builder().hostname(MX_HOST).startTls(ca.issue(MX_HOST)).start()) {
            DeliveryTarget target = new DeliveryTarget(MX_HOST, sink.address(), sink.port());
            TrustMaterial trust = TrustMaterial.of(List.of(ca.certificate()));
            OutboundSettings base =
                    OutboundSettings.defaults("relay.bench")
                            .withTimeouts(Duration.ofSeconds(10), Duration.ofSeconds(30));
            String modes = System.getProperty("bench.reuse", "on,off");
            for (boolean reuse : new boolean[] {true, false}) {
                if (!modes.contains(reuse ? "on" : "off")) {
                    continue;
                }
                OutboundSettings settings =
                        reuse
                                ? base.withReuse(1000, Duration.ofSeconds(5), concurrency)
                                : base.withReuse(1, Duration.ofSeconds(5), 0);
                int n = reuse ? messages : Math.max(messages / 4, 200);
                try (OutboundClient client =
                        new OutboundClient(settings, trust, TlsOutcomeListener.none())) {
                    int connectionsBefore = sink.connections().size();
                    run(
                            client,
                            target,
                            policy,
                            body,
                            Math.min(n, 500),
                            concurrency,
                            null); // warm-up
                    run(
                            client,
                            target,
                            policy,
                            body,
                            n,
                            concurrency,
                            reuse ? "with reuse   " : "without reuse");
                    System.out.printf(
                            "    TCP connections opened, warm-up included: %d%n",
                            sink.connections().size() - connectionsBefore);
                }
            }
        }
    }

    private static void run(
            OutboundClient client,
            DeliveryTarget target,
            Admission.Connect policy,
            byte[] body,
            int n,
            int concurrency,
            String label)
            throws InterruptedException {
        Semaphore inFlight = new Semaphore(concurrency);
        CountDownLatch done = new CountDownLatch(n);
        AtomicInteger delivered = new AtomicInteger();
        long[] latencies = new long[n];
        long cpu0 = processCpuNanos();
        long clientCpu0 = eventLoopCpuNanos();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            inFlight.acquire();
            int index = i;
            long start = System.nanoTime();
            OutboundMessage m =
                    OutboundMessage.of(
                            "B" + i,
                            "sender@relay.bench",
                            List.of("rcpt@bench.test"),
                            MessageContent.ofBytes(body));
            client.deliver(target, m, policy)
                    .whenComplete(
                            (r, e) -> {
                                latencies[index] = System.nanoTime() - start;
                                if (r instanceof DeliveryAttemptResult.Completed c
                                        && c.count(RecipientReply.Status.DELIVERED) == 1) {
                                    delivered.incrementAndGet();
                                } else if (label != null && delivered.get() == 0) {
                                    System.out.println("    not delivered: " + (e != null ? e : r));
                                }
                                inFlight.release();
                                done.countDown();
                            });
        }
        if (!done.await(5, TimeUnit.MINUTES)) {
            throw new IllegalStateException("benchmark did not finish");
        }
        long elapsed = System.nanoTime() - t0;
        long cpu = processCpuNanos() - cpu0;
        long clientCpu = eventLoopCpuNanos() - clientCpu0;
        if (label == null) {
            return;
        }
        Arrays.sort(latencies);
        System.out.printf(
                "  %s: %d/%d delivered in %.2f s = %.0f msg/s; latency p50 %.1f ms, p99 %.1f ms; "
                        + "CPU %.2f ms/msg (client event loops %.2f, the rest is mostly the sink)%n",
                label,
                delivered.get(),
                n,
                elapsed / 1e9,
                n / (elapsed / 1e9),
                latencies[n / 2] / 1e6,
                latencies[(int) (n * 0.99)] / 1e6,
                cpu / 1e6 / n,
                clientCpu / 1e6 / n);
    }

    /** CPU time of the client's Netty event-loop threads (they live as long as the client). */
    private static long eventLoopCpuNanos() {
        java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long total = 0;
        for (java.lang.management.ThreadInfo info :
                threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info != null && info.getThreadName().contains("EventLoopGroup")) {
                total += Math.max(0, threads.getThreadCpuTime(info.getThreadId()));
            }
        }
        return total;
    }

    private static long processCpuNanos() {
        return ManagementFactory.getPlatformMXBean(com.sun.management.OperatingSystemMXBean.class)
                .getProcessCpuTime();
    }

    private static byte[] body(int size) {
        StringBuilder b =
                new StringBuilder(
                        "From: sender@relay.bench\r\nTo: rcpt@bench.test\r\nSubject: bench\r\n\r\n");
        int line = 0;
        while (b.length() < size) {
            b.append("line ")
                    .append(line++)
                    .append(" the quick brown fox jumps over the lazy dog 0123456789\r\n");
        }
        return b.substring(0, size - 2).concat("\r\n").getBytes(StandardCharsets.US_ASCII);
    }
}
