package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.smtp.inbound.RawSmtpClient;
import org.tlsrelay.testkit.DnsStubServer;

/**
 * {@code tlsrelay queue hold|release|flush|delete}, run from another process than the relay's, end up in the relay's
 * log, queue id first, with the OS user who ran them; what was done while the relay was stopped is told at its next
 * start.
 */
class QueueActionLogTest {
    private static final Pattern LISTENING =
            Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) ");
    private static final String USER = System.getProperty("user.name");

    @TempDir Path dir;

    @Test
    void theRunningRelayLogsWhoChangedTheQueue() throws Exception {
        try (DnsStubServer dns = DnsStubServer.start()) {
            dns.servfail("example.com"); // deferred, never sent
            Path config =
                    Files.writeString(
                            dir.resolve("tlsrelay.yaml"),
                            """
                            server: { listen: "127.0.0.1:0", hostname: queue.test }
                            spool: { dir: "%s" }
                            dns: { servers: ["127.0.0.1:%d"], timeout: 1s, dnssec: off }
                            policy: { mta-sts: { enabled: false } }
                            admin: { listen: "127.0.0.1:0" }
                            """
                                    .formatted(dir.resolve("spool"), dns.port()));
            String id;
            try (RelayProcess relay = RelayProcess.start("run", "--config", config.toString())) {
                int smtp = relay.awaitNumber(LISTENING);
                try (RawSmtpClient c =
                        new RawSmtpClient(new InetSocketAddress("127.0.0.1", smtp))) {
                    RawSmtpClient.expect(c.reply(), 220);
                    RawSmtpClient.expect(c.command("EHLO client.test"), 250);
                    id =
                            DeliveryFixture.queueId(
                                    c.sendMessage(
                                            "a@example.org",
                                            List.of("b@example.com"),
                                            "Subject: held\r\n\r\nx\r\n"));
                }
                relay.await(l -> l.contains(id + ": deferred until"), "the deferral");

                assertEquals(0, queue(config, "hold", id).exit());
                relay.await(
                        l -> l.endsWith(id + ": placed on hold by " + USER + " (was deferred)"),
                        "the hold");
                assertEquals(0, queue(config, "release", id).exit());
                relay.await(l -> l.endsWith(id + ": released from hold by " + USER), "the release");
                assertEquals(0, queue(config, "flush").exit());
                relay.await(l -> l.contains("queue flushed by " + USER + ": "), "the flush");
                relay.sigterm();
                assertTrue(relay.process.waitFor(60, TimeUnit.SECONDS));
            }

            // while the relay is stopped: told at the next start, with the time it was done
            assertEquals(0, queue(config, "delete", id).exit());
            try (RelayProcess relay = RelayProcess.start("run", "--config", config.toString())) {
                String line =
                        relay.await(
                                l -> l.contains(id + ": deleted by " + USER + " (was "),
                                "the delete, at the next start");
                assertTrue(line.contains(" INFO "), line);
            }
            try (var notices = Files.list(dir.resolve("spool"))) {
                assertTrue(
                        notices.noneMatch(p -> p.getFileName().toString().startsWith("notice.")),
                        "every notice was told and removed");
            }
        }
    }

    private static CliRun queue(Path config, String... args) {
        String[] all = new String[args.length + 3];
        all[0] = "queue";
        System.arraycopy(args, 0, all, 1, args.length);
        all[args.length + 1] = "--config";
        all[args.length + 2] = config.toString();
        return CliRun.run(all);
    }
}
