package org.tlsrelay.core.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CertificateNamesTest {

    @ParameterizedTest(name = "{0} vs [{1}] -> {2}")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
            mx.example.net         | mx.example.net                | true
            MX.Example.Net.        | mx.example.net                | true
            mx.example.net         | MX.EXAMPLE.NET.               | true
            mx.example.net         | other.example.net mx.example.net | true
            mx.example.net         | *.example.net                 | true
            a.mx.example.net       | *.example.net                 | false
            example.net            | *.example.net                 | false
            mx.example.net         | m*.example.net                | false
            mx.example.net         | *x.example.net                | false
            mx.example.net         | mx.*.net                      | false
            mx.example.net         | *.*.net                       | false
            example.net            | *.net                         | false
            mx.net                 | *.net                         | false
            mx.example.net         | example.net                   | false
            mx.example.net         | ''                            | false
            mx.example.net         | mx.example.net.evil.org       | false
            xn--bcher-kva.example  | xn--bcher-kva.example         | true
            mx.xn--bcher-kva.example | *.xn--bcher-kva.example     | true
            bücher.example         | xn--bcher-kva.example         | false
            bücher.example         | bücher.example                | false
            """)
    void matchesDnsIdsWithLeftMostWildcardOnly(String host, String sans, boolean expected) {
        List<String> names = sans.isEmpty() ? List.of() : Arrays.asList(sans.split(" "));
        assertEquals(expected, CertificateNames.matches(host, names));
    }
}
