package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.config.HostPort;
import org.tlsrelay.core.config.Network;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dkim.AcceptSigner;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.EnvelopeCodec;
import org.tlsrelay.core.queue.FreeSpace;
import org.tlsrelay.core.queue.SpaceReserve;
import org.tlsrelay.core.queue.Spool;

/**
 * The listener bound before the rest of the relay starts ({@link InboundServer#bind}), here on IPv6 loopback: an
 * address in use fails at the bind, and the server then serves on the very socket; the client's IPv6 address is
 * written in its short form (RFC 5952) in the {@code Received:} header and the envelope.
 */
class BoundListenerTest {
    @TempDir Path dir;

    @Test
    void servesOnTheSocketBoundFirstAndWritesIpv6InShortForm() throws IOException {
        HostPort listen = new HostPort("::1", 0);
        RelayConfig.Server config =
                new RelayConfig.Server(
                        listen, "relay.test", List.of(Network.parse("::1/128")), null, null, null);
        try (ServerSocket bound = InboundServer.bind(config);
                Spool spool = Spool.open(dir.resolve("spool"), Spool.Options.defaults())) {
            assertThrows(
                    BindException.class,
                    () ->
                            InboundServer.bind(
                                    new RelayConfig.Server(
                                            new HostPort("::1", bound.getLocalPort()),
                                            "relay.test",
                                            List.of(),
                                            null,
                                            null,
                                            null)),
                    "the port is taken from the moment bind returns");
            InboundServer server =
                    InboundServer.create(
                            config,
                            spool,
                            RelayMetrics.noop(),
                            AcceptSigner.none(),
                            FreeSpace.of(spool.root(), SpaceReserve.NONE),
                            bound);
            server.start();
            try (RawSmtpClient c =
                    new RawSmtpClient(
                            new InetSocketAddress(
                                    InetAddress.getByName("::1"), bound.getLocalPort()))) {
                RawSmtpClient.expect(c.reply(), 220);
                RawSmtpClient.expect(c.command("EHLO client.test"), 250);
                String id =
                        InboundServerTest.queuedId(
                                c.sendMessage(
                                        "a@example.org",
                                        List.of("b@example.com"),
                                        "Subject: v6\r\n\r\nhi\r\n"));
                Path queued = dir.resolve("spool/incoming");
                assertTrue(
                        Files.readString(queued.resolve(id + ".eml"))
                                .startsWith("Received: from client.test ([IPv6:::1])\r\n"),
                        Files.readString(queued.resolve(id + ".eml")));
                Envelope env =
                        EnvelopeCodec.decode(Files.readAllBytes(queued.resolve(id + ".json")));
                assertEquals("::1", env.source().address());
            } finally {
                server.close();
            }
        }
    }
}
