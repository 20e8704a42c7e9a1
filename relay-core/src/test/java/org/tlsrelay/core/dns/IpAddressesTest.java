package org.tlsrelay.core.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** RFC 5952 §4: the one text form of an IPv6 address. */
class IpAddressesTest {

    @ParameterizedTest
    @CsvSource({
        "0:0:0:0:0:0:0:1, ::1",
        "0:0:0:0:0:0:0:0, ::",
        "2001:0db8:0:0:0:0:0:25, 2001:db8::25",
        "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1", // §4.2.3: the first of two equal runs
        "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1", // §4.2.2: one zero group stays
        "2001:DB8:AAAA:0:0:0:0:0, 2001:db8:aaaa::", // §4.3: lower case
        "fe80:0:0:0:0:0:0:1, fe80::1",
        "192.0.2.10, 192.0.2.10",
        "::ffff:192.0.2.1, 192.0.2.1" // the JDK makes a mapped address an IPv4 one
    })
    void shortForm(String written, String expected) throws Exception {
        assertEquals(expected, IpAddresses.text(InetAddress.getByName(written)));
    }

    @ParameterizedTest
    @CsvSource({"::1, 25, '[::1]:25'", "127.0.0.1, 2525, 127.0.0.1:2525"})
    void withPort(String address, int port, String expected) throws Exception {
        assertEquals(expected, IpAddresses.withPort(InetAddress.getByName(address), port));
    }
}
