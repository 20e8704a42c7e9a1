package org.tlsrelay.core.dkim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AuthorTest {

    private static String author(String header) {
        byte[] b = header.getBytes(StandardCharsets.UTF_8);
        List<HeaderField> fields =
                ((HeaderSection.Parsed.Fields) HeaderSection.parse(b, b.length)).section().fields();
        Author.Found found = Author.of(fields);
        return found instanceof Author.Found.Domain d
                ? d.name()
                : ((Author.Found.None) found).why().label();
    }

    @ParameterizedTest(name = "[{index}] {0} -> {1}")
    @CsvSource(
            delimiter = '|',
            value = {
                "From: alice@Example.ORG                                  | example.org",
                "From: Alice <alice@mail.example.org>                     | mail.example.org",
                "From: \"Doe, John\" <j@example.org>                       | example.org",
                "From: j@example.org (John <j@evil.example>)              | example.org",
                "From: =?utf-8?q?J=C3=B6rg?= <j@example.org>              | example.org",
                "From: \"a@evil.example\" <real@example.org>              | example.org",
                "From: Jörg <j@bücher.example>                            | xn--bcher-kva.example",
                "From: team: a@example.org;                               | example.org",
                "From: a@example.org, b@example.net                       | several-authors",
                "From: <>                                                 | from-without-domain",
                "From: someone                                            | from-without-domain",
                "From: a@[192.0.2.1]                                      | from-without-domain",
                "Subject: no author                                       | no-from",
            })
    void findsTheAuthorsDomain(String field, String expected) {
        assertEquals(expected, author(field + "\r\n"));
    }

    @org.junit.jupiter.api.Test
    void twoFromFieldsAreRefused() {
        assertEquals("several-from", author("From: a@example.org\r\nFrom: b@example.org\r\n"));
    }
}
