package org.tlsrelay.smtp.outbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.smtp.DefaultSmtpResponse;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SmtpReplyTest {

    @ParameterizedTest(name = "{0} {1} -> [{2}]")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
            250 | 2.1.5 Ok                 | 2.1.5
            550 | 5.1.1 <x@y>: no such user | 5.1.1
            451 | 4.7.500 deferred         | 4.7.500
            250 | Ok                       | ''
            550 | 2.1.1 class mismatch     | ''
            250 | 2.1.5Ok                  | ''
            250 | 2.1                      | ''
            421 | 4.4.2                    | 4.4.2
            """)
    void parsesTheEnhancedStatusCodeOfTheFirstLine(int code, String text, String enhanced) {
        SmtpReply reply = SmtpReply.of(new DefaultSmtpResponse(code, text));
        assertEquals(enhanced, reply.enhancedCode());
        assertEquals(List.of(text), reply.lines());
    }

    @Test
    void classifiesRepliesAndPrintsThemAsOneSafeLine() {
        SmtpReply reply = SmtpReply.of(new DefaultSmtpResponse(451, "4.3.0 first\u0007", "second"));
        assertTrue(reply.isTransient());
        assertFalse(reply.isPositive() || reply.isPermanent());
        assertEquals("451 4.3.0 first? second", reply.toString());
        assertEquals("4.3.0 first\u0007 second", reply.text());
    }

    @Test
    void parsesEhloCapabilitiesOnce() {
        SmtpReply ehlo =
                SmtpReply.of(
                        new DefaultSmtpResponse(
                                250,
                                "mx.example.net Hello relay",
                                "PIPELINING",
                                "SIZE 35882577",
                                "8BITMIME",
                                "starttls",
                                "ENHANCEDSTATUSCODES",
                                "X-UNKNOWN thing",
                                "SMTPUTF8",
                                "DSN",
                                "CHUNKING",
                                "REQUIRETLS",
                                "AUTH PLAIN LOGIN"));
        Capabilities caps = Capabilities.parse(ehlo);
        assertEquals("mx.example.net", caps.serverName());
        assertEquals(Set.of(Extension.values()), caps.extensions());
        assertEquals(35882577L, caps.sizeLimit());
    }

    @Test
    void ignoresASizeThatIsNotANumber() {
        Capabilities caps =
                Capabilities.parse(SmtpReply.of(new DefaultSmtpResponse(250, "mx", "SIZE huge")));
        assertTrue(caps.has(Extension.SIZE));
        assertEquals(0, caps.sizeLimit());
        assertFalse(caps.has(Extension.STARTTLS));
    }
}
