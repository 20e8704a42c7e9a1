package org.tlsrelay.core.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Both notations allow host names only: a name with an empty or a {@code *} label is allowed by no pattern. */
class MxPatternTest {

    @ParameterizedTest(name = "{0} allows {1}: {2}")
    @CsvSource({
        // STARTTLS-Everywhere suffix: any depth
        ".example.net,   mx.example.net,     true",
        ".example.net,   a.b.example.net,    true",
        ".example.net,   mx..example.net,    false",
        ".example.net,   *.example.net,      false",
        ".example.net,   mx.*.example.net,   false",
        ".example.net,   -mx.example.net,    false",
        // MTA-STS wildcard: exactly one label
        "*.example.net,  mx.example.net,     true",
        "*.example.net,  *.example.net,      false",
        "*.example.net,  .example.net,       false",
        "*.example.net,  a.b.example.net,    false",
        // exact names
        "mx.example.net, mx.example.net.,    true",
        "mx.example.net, mx..example.net,    false",
    })
    void onlyHostNamesAreAllowed(String pattern, String host, boolean allowed) {
        assertEquals(allowed, MxPattern.ofOverride(pattern).matches(host));
    }

    @ParameterizedTest
    @CsvSource({
        "mx..example.net",
        ".*.example.net",
        "*.*.example.net",
        "mx.exa mple.net",
        "..example.net"
    })
    void aPatternIsAHostNameItself(String pattern) {
        assertThrows(IllegalArgumentException.class, () -> MxPattern.ofOverride(pattern));
    }
}
