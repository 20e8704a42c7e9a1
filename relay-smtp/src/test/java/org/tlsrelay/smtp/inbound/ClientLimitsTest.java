package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.testkit.Await;

/**
 * Issue 11 §4: one client address cannot take every slot ({@code max-connections-per-client}, 50 by default, as
 * Postfix); clients in {@code server.networks} are counted too, only {@code exempt-networks} are not. Two clients on
 * loopback: 127.0.0.1 and 127.0.0.2.
 */
class ClientLimitsTest {
    static final InetAddress ONE = address("127.0.0.1");
    static final InetAddress TWO = address("127.0.0.2");

    @TempDir Path dir;

    @Test
    void oneAddressHoldsItsFiftySessionsAndNoMoreWhileOthersStillGetIn() throws IOException {
        int perClient = RelayConfig.Limits.defaults().maxConnectionsPerClient();
        assertEquals(
                50, perClient, "the default, as Postfix's smtpd_client_connection_count_limit");
        List<RawSmtpClient> held = new ArrayList<>();
        try (InboundFixture f = InboundFixture.builder().maxConnections(200).start(dir)) {
            try {
                for (int i = 0; i < perClient; i++) {
                    RawSmtpClient c = new RawSmtpClient(f.address(), ONE);
                    held.add(c);
                    assertEquals(220, c.reply().code(), "session " + (i + 1));
                }
                try (RawSmtpClient over = new RawSmtpClient(f.address(), ONE)) {
                    assertEquals(
                            "421 4.7.0 relay.test Error: too many connections from 127.0.0.1, try again later",
                            over.reply().last());
                    assertTrue(over.closedByServer());
                }
                try (RawSmtpClient other = new RawSmtpClient(f.address(), TWO)) {
                    assertEquals(220, other.reply().code(), "another client still gets in");
                    assertEquals(250, other.command("EHLO other.test").code());
                }
                // The 127.0.0.1 sessions are in server.networks (loopback): counted all the same.
                assertEquals(250, held.get(0).command("EHLO client.test").code());
                held.remove(0).close();
                Await.until(
                        () -> f.server.connections() == perClient - 1,
                        Duration.ofSeconds(10),
                        "the server to see the session end");
                try (RawSmtpClient again = new RawSmtpClient(f.address(), ONE)) {
                    assertEquals(220, again.reply().code(), "a freed slot is taken again");
                }
            } finally {
                for (RawSmtpClient c : held) {
                    c.close();
                }
            }
        }
    }

    @Test
    void exemptNetworksAreNotCountedPerClientButStillInTheTotal() throws IOException {
        List<RawSmtpClient> held = new ArrayList<>();
        try (InboundFixture f =
                InboundFixture.builder()
                        .maxConnections(6)
                        .maxConnectionsPerClient(2)
                        .exempt("127.0.0.1/32")
                        .start(dir)) {
            try {
                for (int i = 0; i < 4; i++) {
                    RawSmtpClient c = new RawSmtpClient(f.address(), ONE);
                    held.add(c);
                    assertEquals(220, c.reply().code(), "exempt session " + (i + 1));
                }
                for (int i = 0; i < 2; i++) {
                    RawSmtpClient c = new RawSmtpClient(f.address(), TWO);
                    held.add(c);
                    assertEquals(220, c.reply().code());
                }
                try (RawSmtpClient over = new RawSmtpClient(f.address(), ONE)) {
                    assertEquals(
                            "421 4.7.0 relay.test Error: too many connections, try again later",
                            over.reply().last(),
                            "max-connections still holds for exempt clients");
                }
                held.remove(0).close();
                Await.until(
                        () -> f.server.connections() == 5,
                        Duration.ofSeconds(10),
                        "the server to see the session end");
                try (RawSmtpClient over = new RawSmtpClient(f.address(), TWO)) {
                    assertEquals(
                            "421 4.7.0 relay.test Error: too many connections from 127.0.0.2, try again later",
                            over.reply().last(),
                            "127.0.0.2 is not exempt");
                }
            } finally {
                for (RawSmtpClient c : held) {
                    c.close();
                }
            }
        }
    }

    static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
