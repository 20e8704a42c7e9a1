package org.tlsrelay.smtp.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tlsrelay.testkit.DnsStubServer;
import org.xbill.DNS.Name;

class DnssecCapabilityTest {

    @Test
    void aServerThatAnswersWithoutDnssecDataIsUnsupported() throws Exception {
        try (DnsStubServer plain = DnsStubServer.start()) {
            plain.a("mx.example.test", "127.0.0.1");
            InetSocketAddress server =
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), plain.port());
            DnssecCapability c =
                    new DnssecCapability(
                            DnsjavaResolver.upstream(List.of(server), Duration.ofSeconds(2)),
                            List.of(Name.root),
                            server.toString(),
                            Clock.systemUTC());
            c.probe();
            assertEquals(DnssecCapability.State.UNSUPPORTED, c.current());
        }
    }

    @Test
    void aServerThatDoesNotAnswerIsUnknownSoValidationStaysOn() throws Exception {
        // A bound UDP socket that never answers: the probe times out.
        try (DatagramSocket silent = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            InetSocketAddress server =
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), silent.getLocalPort());
            DnssecCapability c =
                    new DnssecCapability(
                            DnsjavaResolver.upstream(List.of(server), Duration.ofMillis(300)),
                                    List.of(Name.root),
                            server.toString(), Clock.systemUTC());
            c.probe();
            assertEquals(DnssecCapability.State.UNKNOWN, c.current());
        }
    }
}
