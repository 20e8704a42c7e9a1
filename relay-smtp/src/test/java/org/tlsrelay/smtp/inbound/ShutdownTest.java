package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.queue.QueuedMessage;

/**
 * Issue 11 §3, inbound half: a clean stop tells sessions {@code 421 4.3.2 Service shutting down}, and a message whose
 * end of data has arrived is either committed (250, and in the spool) or refused (421), never left without a reply.
 */
class ShutdownTest {
    static final String SHUTTING_DOWN = "421 4.3.2 relay.test Service shutting down";

    @TempDir Path dir;

    @Test
    void aClientInDataWhenTheStopBeginsGetsItsMessageQueuedThenIsToldTheServerStops()
            throws Exception {
        InboundFixture f = InboundFixture.builder().start(dir);
        try (RawSmtpClient idle = f.ehlo();
                RawSmtpClient sending = f.ehlo()) {
            sending.command("MAIL FROM:<a@example.org>");
            sending.command("RCPT TO:<b@example.com>");
            RawSmtpClient.expect(sending.command("DATA"), 354);
            sending.send("Subject: in flight\r\n\r\nfirst half\r\n");

            f.server.drain(Duration.ofSeconds(20));

            assertEquals(SHUTTING_DOWN, idle.reply().last(), "a session between commands: at once");
            assertTrue(idle.closedByServer());
            try (RawSmtpClient late = new RawSmtpClient(f.address())) {
                assertEquals(SHUTTING_DOWN, late.reply().last(), "a new connection");
                assertTrue(late.closedByServer());
            }
            sending.send("second half\r\n.\r\n");
            RawSmtpClient.Reply r = sending.reply();
            assertEquals(250, r.code(), r.text());
            String id = InboundServerTest.queuedId(r);
            assertEquals(SHUTTING_DOWN, sending.reply().last(), "then, before its next command");
            assertTrue(sending.closedByServer());

            CompletableFuture<Void> closed = CompletableFuture.runAsync(f.server::close);
            closed.get(10, TimeUnit.SECONDS); // nothing is left to wait for
            List<QueuedMessage> queued = f.spool.list();
            assertEquals(1, queued.size());
            assertEquals(id, queued.get(0).id());
        } finally {
            f.close();
        }
    }

    @Test
    void aDataPhaseStillOpenWhenTheGraceEndsIsRefusedWith421AndNothingIsQueued() throws Exception {
        InboundFixture f =
                InboundFixture.builder().shutdownGrace(Duration.ofMillis(500)).start(dir);
        try (RawSmtpClient sending = f.ehlo()) {
            sending.command("MAIL FROM:<a@example.org>");
            sending.command("RCPT TO:<b@example.com>");
            RawSmtpClient.expect(sending.command("DATA"), 354);
            sending.send("Subject: never finished\r\n\r\n");

            CompletableFuture<Void> closed = CompletableFuture.runAsync(f.server::close);
            assertEquals(SHUTTING_DOWN, sending.reply().last());
            assertTrue(sending.closedByServer());
            closed.get(15, TimeUnit.SECONDS);
            assertEquals(List.of(), f.spool.list());
            assertEquals(List.of(), f.files("incoming"));
        } finally {
            f.close();
        }
    }
}
