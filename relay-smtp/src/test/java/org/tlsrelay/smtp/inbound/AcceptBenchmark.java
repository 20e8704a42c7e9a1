package org.tlsrelay.smtp.inbound;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.tlsrelay.core.config.ByteSize;
import org.tlsrelay.core.config.HostPort;
import org.tlsrelay.core.config.Network;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.queue.Spool;

/**
 * Accept throughput of the inbound server into the spool: 10 KB messages, 1/10/50 concurrent clients on reused,
 * pipelining connections over loopback; messages/s and accept latency (MAIL sent → 250 received, p50/p99). Every
 * configuration runs twice in the same process: with the durable write protocol (fsync) and, as the baseline, the
 * same spool with fsync turned off. Not part of {@code mvn verify}: run {@code bench/accept.sh}.
 *
 * <p>Arguments: {@code [seconds per run, default 8] [spool parent directory, default the system temp dir]}; the
 * system property {@code bench.clients} (default {@code 1,10,50}) sets the client counts, {@code bench.fsync} (default
 * {@code true,false}) the modes, e.g. {@code -Dbench.fsync=true} for a run under {@code strace -c} that counts the
 * durable path alone. By default each client sends its next message as soon as the last one got its 250 (closed
 * loop: the latency at 50 clients is then 50 ÷ the rate, whatever the code does); {@code bench.rate} (messages/s of
 * all clients together) paces them instead (open loop), and latency counts from when a message was due.
 */
public final class AcceptBenchmark {
    private static final int SIZE = 10 * 1024;

    private AcceptBenchmark() {}

    record Result(
            String mode,
            int clients,
            long messages,
            double seconds,
            long[] latenciesNanos,
            double cpuSeconds) {
        /** CPU (user + system) of this process per message: the relay's and, on the same cores, the clients'. */
        double cpuMillisPerMessage() {
            return messages == 0 ? Double.NaN : cpuSeconds * 1000 / messages;
        }

        double rate() {
            return messages / seconds;
        }

        double percentileMillis(double p) {
            if (latenciesNanos.length == 0) {
                return Double.NaN;
            }
            int i =
                    (int)
                            Math.min(
                                    latenciesNanos.length - 1,
                                    Math.ceil(p * latenciesNanos.length) - 1);
            return latenciesNanos[Math.max(0, i)] / 1e6;
        }
    }

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        Path parent =
                args.length > 1 ? Path.of(args[1]) : Path.of(System.getProperty("java.io.tmpdir"));
        byte[] body = message();
        System.out.printf(
                "tlsrelay accept benchmark: %d-byte messages, %ds per run (+2s warm-up), spool under %s, "
                        + "%d CPUs%n",
                body.length, seconds, parent, Runtime.getRuntime().availableProcessors());
        List<Result> results = new ArrayList<>();
        int[] counts =
                Arrays.stream(System.getProperty("bench.clients", "1,10,50").split(","))
                        .mapToInt(Integer::parseInt)
                        .toArray();
        List<Boolean> modes =
                Arrays.stream(System.getProperty("bench.fsync", "true,false").split(","))
                        .map(Boolean::parseBoolean)
                        .toList();
        for (int clients : counts) {
            for (boolean fsync : modes) {
                results.add(run(parent, fsync, clients, seconds, body));
                Result r = results.get(results.size() - 1);
                System.out.printf(
                        Locale.ROOT,
                        "  %-8s %3d clients: %8.0f msg/s   p50 %7.2f ms   p99 %7.2f ms   %5.2f ms CPU/msg"
                                + "   (%d messages)%n",
                        r.mode(),
                        r.clients(),
                        r.rate(),
                        r.percentileMillis(0.50),
                        r.percentileMillis(0.99),
                        r.cpuMillisPerMessage(),
                        r.messages());
            }
        }
        if (modes.size() != 2) {
            return; // the table pairs fsync with no-fsync
        }
        System.out.println();
        System.out.println(
                "| clients | fsync msg/s | fsync p50 ms | fsync p99 ms | no-fsync msg/s | no-fsync p50 ms "
                        + "| no-fsync p99 ms |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---:|");
        for (int i = 0; i < results.size(); i += 2) {
            Result a = results.get(i);
            Result b = results.get(i + 1);
            System.out.printf(
                    Locale.ROOT,
                    "| %d | %.0f | %.2f | %.2f | %.0f | %.2f | %.2f |%n",
                    a.clients(),
                    a.rate(),
                    a.percentileMillis(0.5),
                    a.percentileMillis(0.99),
                    b.rate(),
                    b.percentileMillis(0.5),
                    b.percentileMillis(0.99));
        }
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean)
                        java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static byte[] message() {
        StringBuilder sb =
                new StringBuilder(
                        "From: bench@example.org\r\nTo: sink@example.com\r\nSubject: bench\r\n\r\n");
        int i = 0;
        while (sb.length() < SIZE - 80) {
            sb.append(
                    String.format(
                            "%06d The quick brown fox jumps over the lazy dog; 0123456789 abcdefghij\r\n",
                            i++));
        }
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static Result run(Path parent, boolean fsync, int clients, int seconds, byte[] body)
            throws Exception {
        Path dir = Files.createTempDirectory(parent, "tlsrelay-bench-");
        RelayConfig.Server config =
                new RelayConfig.Server(
                        new HostPort("127.0.0.1", 0),
                        "bench.test",
                        List.of(Network.parse("127.0.0.0/8")),
                        new RelayConfig.Auth(List.of()),
                        new RelayConfig.Tls(null, null),
                        new RelayConfig.Limits(
                                ByteSize.parse("10MB"),
                                100,
                                clients + 10,
                                Duration.ofMinutes(1),
                                Duration.ofMinutes(1),
                                4096));
        try (Spool spool = Spool.open(dir, Spool.Options.defaults().withFsync(fsync));
                InboundServer server = InboundServer.create(config, spool)) {
            server.start();
            InetSocketAddress at = new InetSocketAddress("127.0.0.1", server.port());
            AtomicBoolean measuring = new AtomicBoolean();
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch done = new CountDownLatch(clients);
            long[][] lat = new long[clients][];
            int[] counts = new int[clients];
            byte[] envelope =
                    ("MAIL FROM:<bench@example.org> SIZE="
                                    + body.length
                                    + "\r\nRCPT TO:<sink@example.com>\r\nDATA\r\n")
                            .getBytes(StandardCharsets.US_ASCII);
            byte[] end = ".\r\n".getBytes(StandardCharsets.US_ASCII);
            // bench.rate: messages/s offered by all clients together (open loop); 0: each as fast
            // as it can
            double offered = Double.parseDouble(System.getProperty("bench.rate", "0"));
            long pace = offered > 0 ? (long) (clients * 1e9 / offered) : 0;
            List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int me = c;
                lat[c] = new long[1 << 16];
                Thread t =
                        new Thread(
                                () -> {
                                    try (RawSmtpClient s = new RawSmtpClient(at)) {
                                        s.reply();
                                        s.command("EHLO bench.test");
                                        long next = System.nanoTime();
                                        while (!stop.get()) {
                                            if (pace > 0) {
                                                // open loop: each client sends at its share of the
                                                // offered
                                                // rate, and latency counts from when it was due
                                                next += pace;
                                                long wait = next - System.nanoTime();
                                                if (wait > 0) {
                                                    Thread.sleep(
                                                            wait / 1_000_000,
                                                            (int) (wait % 1_000_000));
                                                }
                                            }
                                            long t0 = pace > 0 ? next : System.nanoTime();
                                            s.sendBytes(
                                                    envelope); // RFC 2920: MAIL, RCPT, DATA in one
                                            // packet
                                            RawSmtpClient.expect(s.reply(), 250);
                                            RawSmtpClient.expect(s.reply(), 250);
                                            RawSmtpClient.expect(s.reply(), 354);
                                            s.sendBytes(body);
                                            s.sendBytes(end);
                                            RawSmtpClient.expect(s.reply(), 250);
                                            if (measuring.get() && counts[me] < lat[me].length) {
                                                lat[me][counts[me]++] = System.nanoTime() - t0;
                                            }
                                        }
                                    } catch (IOException | InterruptedException e) {
                                        System.err.println("client " + me + ": " + e);
                                    } finally {
                                        done.countDown();
                                    }
                                },
                                "bench-client-" + c);
                threads.add(t);
                t.start();
            }
            Thread.sleep(2000); // warm-up
            measuring.set(true);
            long start = System.nanoTime();
            long cpu0 = processCpuNanos();
            Thread.sleep(seconds * 1000L);
            double cpu = (processCpuNanos() - cpu0) / 1e9;
            measuring.set(false);
            double elapsed = (System.nanoTime() - start) / 1e9;
            stop.set(true);
            done.await();
            long total = Arrays.stream(counts).asLongStream().sum();
            long[] all = new long[(int) total];
            int k = 0;
            for (int c = 0; c < clients; c++) {
                System.arraycopy(lat[c], 0, all, k, counts[c]);
                k += counts[c];
            }
            Arrays.sort(all);
            return new Result(fsync ? "fsync" : "no-fsync", clients, total, elapsed, all, cpu);
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
