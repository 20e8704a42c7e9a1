package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.testkit.Await;

/**
 * Issue 11 §4: a client cannot keep a session by dribbling. A command line must be complete within
 * {@code command-timeout} of the previous reply, however often bytes arrive (the old timeout was per read); a DATA
 * phase gets {@code min-data-rate-grace} plus one second per {@code min-data-rate} bytes. Both end with
 * {@code 421 4.4.2} and a closed connection, and nothing is queued.
 */
class DeadlinesTest {
    @TempDir Path dir;

    @Test
    void aCommandDribbledByteByByteIsCutAtTheCommandTimeoutThoughEveryReadGetsData()
            throws Exception {
        try (InboundFixture f =
                        InboundFixture.builder()
                                .timeouts(Duration.ofSeconds(1), Duration.ofSeconds(30))
                                .start(dir);
                RawSmtpClient c = f.ehlo()) {
            // One byte every 150 ms: each read gets data well within the timeout, the line never
            // ends.
            Dribbler d = new Dribbler(c, "MAIL FROM:<slow@example.org>\r\n".getBytes(), 1, 150);
            long t0 = System.nanoTime();
            d.start();
            RawSmtpClient.Reply r = c.reply();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            d.interrupt();
            assertEquals("421 4.4.2 relay.test Error: timeout exceeded", r.last());
            assertTrue(c.closedByServer());
            assertTrue(
                    d.sent.get() < 30, "cut before the line was complete (" + d.sent + " bytes)");
            System.out.printf(
                    "dribbled command (1 byte/150 ms, command-timeout 1s): %s after %d ms, %d bytes%n",
                    r.last(), ms, d.sent.get());
        }
    }

    @Test
    void aSlowDataPhaseIsCutAtTheMinimumDataRate() throws Exception {
        try (InboundFixture f =
                        InboundFixture.builder()
                                .timeouts(Duration.ofSeconds(30), Duration.ofSeconds(60))
                                .minDataRate(500, Duration.ofSeconds(1))
                                .start(dir);
                RawSmtpClient c = f.ehlo()) {
            c.command("MAIL FROM:<a@example.org>");
            c.command("RCPT TO:<b@example.com>");
            RawSmtpClient.expect(c.command("DATA"), 354);
            // 10 bytes every 100 ms: 100 bytes/s, under 500; every read still gets data in time.
            Dribbler d = new Dribbler(c, ("x".repeat(78) + "\r\n").repeat(100).getBytes(), 10, 100);
            long t0 = System.nanoTime();
            d.start();
            RawSmtpClient.Reply r = c.reply();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            d.interrupt();
            assertEquals(
                    "421 4.4.2 relay.test Error: data arrives too slowly (less than 500 bytes per second)",
                    r.last());
            assertTrue(c.closedByServer());
            assertEquals(List.of(), f.files("incoming"));
            System.out.printf(
                    "slow DATA (100 bytes/s; min-data-rate 500, grace 1s): %s after %d ms, %d bytes%n",
                    r.last(), ms, d.sent.get());
        }
    }

    @Test
    void aDataPhaseThatKeepsUpTheRateIsAccepted() throws Exception {
        try (InboundFixture f =
                        InboundFixture.builder()
                                .timeouts(Duration.ofSeconds(30), Duration.ofSeconds(60))
                                .minDataRate(500, Duration.ofSeconds(1))
                                .start(dir);
                RawSmtpClient c = f.ehlo()) {
            c.command("MAIL FROM:<a@example.org>");
            c.command("RCPT TO:<b@example.com>");
            RawSmtpClient.expect(c.command("DATA"), 354);
            // 200 bytes every 100 ms (2,000 bytes/s) for about 2.5 s, past the grace.
            byte[] body =
                    ("Subject: steady\r\n\r\n" + ("y".repeat(98) + "\r\n").repeat(50)).getBytes();
            Dribbler d = new Dribbler(c, body, 200, 100);
            d.start();
            d.join(30_000);
            c.send(".\r\n");
            RawSmtpClient.Reply r = c.reply();
            assertEquals(250, r.code(), r.text());
            assertEquals(1, f.spool.list().size());
        }
    }

    @Test
    void aClientThatStopsReadingIsCutOnceAReplyCannotBeWrittenWithinTheCommandTimeout()
            throws Exception {
        try (InboundFixture f =
                InboundFixture.builder()
                        .timeouts(Duration.ofSeconds(1), Duration.ofSeconds(30))
                        .maxErrors(1_000_000)
                        .start(dir)) {
            java.net.Socket s = new java.net.Socket();
            s.setReceiveBufferSize(4096);
            s.connect(f.address(), 5000);
            // Pipelined NOOPs, and never a byte read: the replies fill the buffers until the
            // server's write blocks.
            Thread sender =
                    new Thread(
                            () -> {
                                byte[] noops = "NOOP\r\n".repeat(10_000).getBytes();
                                try {
                                    for (int i = 0; i < 100; i++) {
                                        s.getOutputStream().write(noops);
                                    }
                                } catch (IOException e) {
                                    // cut by the server
                                }
                            });
            sender.setDaemon(true);
            sender.start();
            try {
                Await.until(
                        () -> f.server.connections() == 0,
                        Duration.ofSeconds(15),
                        "the server to cut the session it cannot write to");
            } finally {
                s.close();
            }
        }
    }

    /** A client that sends its bytes a few at a time. */
    static final class Dribbler extends Thread {
        private final RawSmtpClient client;
        private final byte[] bytes;
        private final int chunk;
        private final long pauseMillis;
        final AtomicInteger sent = new AtomicInteger();

        Dribbler(RawSmtpClient client, byte[] bytes, int chunk, long pauseMillis) {
            this.client = client;
            this.bytes = bytes;
            this.chunk = chunk;
            this.pauseMillis = pauseMillis;
            setDaemon(true);
        }

        @Override
        public void run() {
            try {
                for (int i = 0; i < bytes.length; i += chunk) {
                    int n = Math.min(chunk, bytes.length - i);
                    client.sendBytes(java.util.Arrays.copyOfRange(bytes, i, i + n));
                    sent.addAndGet(n);
                    Thread.sleep(pauseMillis); // the client's own pace: the behaviour under test
                }
            } catch (IOException | InterruptedException e) {
                // cut by the server, or the test is over
            }
        }
    }
}
