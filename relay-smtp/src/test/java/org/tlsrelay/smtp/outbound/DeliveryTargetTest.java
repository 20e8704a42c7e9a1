package org.tlsrelay.smtp.outbound;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The relay= notation of the log: Postfix's host[address]:port, IPv6 in its short form (RFC 5952). */
class DeliveryTargetTest {
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "192.0.2.10,              mx.example.com[192.0.2.10]:25",
        "::1,                     mx.example.com[::1]:25",
        "2001:db8:0:0:0:0:0:25,   mx.example.com[2001:db8::25]:25",
        "2001:DB8:0:1:0:0:0:1,    mx.example.com[2001:db8:0:1::1]:25",
        "2001:db8:0:0:1:0:0:1,    mx.example.com[2001:db8::1:0:0:1]:25",
        "2001:db8:1:1:1:1:0:1,    mx.example.com[2001:db8:1:1:1:1:0:1]:25",
        "0:0:0:0:0:0:0:0,         mx.example.com[::]:25",
    })
    void printsTheRelayAsPostfixDoes(String address, String shown) throws Exception {
        assertEquals(
                shown,
                new DeliveryTarget("MX.example.com.", InetAddress.getByName(address), 25)
                        .toString());
    }
}
