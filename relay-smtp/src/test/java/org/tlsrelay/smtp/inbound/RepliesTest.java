package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 11 §4: every reply carries an RFC 3463 enhanced status code (ENHANCEDSTATUSCODES is advertised), SubEthaSMTP's
 * own included; only the greeting and the EHLO/HELO replies are exempt (RFC 2034 §3), and 334/354 are intermediate. A
 * command line over the limit gets {@code 500 5.5.2 Line too long}.
 */
class RepliesTest {
    /** {@code 5.5.2 }, {@code 4.7.0 }... after the code and its separator. */
    static final Pattern ENHANCED = Pattern.compile("\\d{3}[ -][245]\\.\\d{1,3}\\.\\d{1,3} .*");

    @TempDir Path dir;

    /** Every reply SubEthaSMTP 7.2.2 sends of its own (Session, CommandHandler), and what the client sees. */
    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "421 Too many connections, try again later | 421 4.7.0 relay.test Error: too many connections, try again later",
                "421 Timeout waiting for data from client. | 421 4.4.2 relay.test Error: timeout exceeded",
                "501 Syntax error at character position 4. CR and LF must be CRLF paired.  See RFC 2821 #2.7.1. | 500 5.5.2 Error: bare <CR> or <LF> in a command; lines must end with <CR><LF>",
                "501 Input line length is too long! | 500 5.5.2 Line too long",
                "501 Syntax error: invalid character encoding. | 500 5.5.2 Error: a command that is not valid UTF-8",
                "500 Error: command not implemented | 500 5.5.2 Error: command not recognized",
                "500 Error: bad syntax | 500 5.5.2 Error: bad syntax",
                "421 4.4.0 Problem attempting to execute commands. Please try again later. | 421 4.4.0 Problem attempting to execute commands. Please try again later.",
                "421 4.3.0 Mail system failure, closing transmission channel | 421 4.3.0 Mail system failure, closing transmission channel",
                "530 Must issue a STARTTLS command first | 530 5.0.0 Must issue a STARTTLS command first",
                "451 | 451 4.0.0",
                "220 relay.test ESMTP tlsrelay | 220 relay.test ESMTP tlsrelay",
                "334 VXNlcm5hbWU6 | 334 VXNlcm5hbWU6",
                "354 End data with <CR><LF>.<CR><LF> | 354 End data with <CR><LF>.<CR><LF>",
            })
    void subethaSmtpsOwnRepliesGetAnEnhancedCode(String theirs, String ours) {
        assertEquals(ours.strip(), Replies.enhance(theirs.strip(), "relay.test"));
    }

    @Test
    void aLineOverTheLimitGets500AndTheConnectionCloses() throws IOException {
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            assertEquals(
                    "500 5.5.2 Line too long",
                    c.command("NOOP " + "x".repeat(1200)).last(),
                    "SubEthaSMTP reads no command line of 998 characters or more");
            assertTrue(c.closedByServer());
        }
        try (InboundFixture f =
                        InboundFixture.builder().maxLineLength(100).start(dir.resolve("b"));
                RawSmtpClient c = f.ehlo()) {
            assertEquals("500 5.5.2 Line too long", c.command("NOOP " + "x".repeat(120)).last());
            assertEquals(250, c.command("NOOP").code(), "under the 998 of SubEthaSMTP: goes on");
        }
    }

    @Test
    void everyReplyOfAHostileSessionCarriesAnEnhancedCode() throws IOException {
        List<String> seen = new ArrayList<>();
        try (InboundFixture f =
                        InboundFixture.builder()
                                .maxErrors(100)
                                .timeouts(Duration.ofSeconds(2), Duration.ofSeconds(30))
                                .start(dir);
                RawSmtpClient c = f.ehlo()) {
            String[] commands = {
                "HELP",
                "VRFY bob",
                "EXPN staff",
                "BDAT 10 LAST",
                "TURN",
                "ETRN example.com",
                "XYZZY",
                "AB",
                "",
                "DATAX",
                "RSET",
                "NOOP",
                "MAIL FROM:bob@example.org",
                "MAIL FROM:<postmaster>",
                "MAIL FROM:<a@example.org> SIZE=x",
                "MAIL FROM:<a@example.org> FOO=BAR",
                "RCPT TO:<b@example.com>",
                "DATA",
                "MAIL FROM:<a@example.org>",
                "MAIL FROM:<a@example.org>",
                "RCPT TO:<@route:b@example.com>",
                "RCPT TO:<b@[192.0.2.1]>",
                "DATA",
                "RCPT TO:b",
                "RCPT TO:<b@example.com> NOTIFY=SOMETIMES",
                "DATA 1",
                "STARTTLS",
                "AUTH PLAIN",
                "HELO",
                "EHLO",
                "MAIL FROM:<a@example.org>",
            };
            for (String cmd : commands) {
                seen.add(c.command(cmd).text());
            }
            // SubEthaSMTP's own: a bare LF in a command, then the idle timeout on a new session.
            seen.add(c.send("NOOP\nNOOP\r\n").reply().text());
            assertTrue(c.closedByServer());
            try (RawSmtpClient d = f.ehlo()) {
                d.sendBytes("NOOP \u00ff\u00fe\r\n".getBytes(StandardCharsets.ISO_8859_1));
                seen.add(d.reply().text());
            }
            try (RawSmtpClient e = f.ehlo()) {
                seen.add(e.reply().text()); // the command timeout
            }
        }
        for (String reply : seen) {
            for (String line : reply.split("\n")) {
                assertTrue(ENHANCED.matcher(line).matches(), "no enhanced code: " + line);
            }
        }
        assertTrue(seen.size() > 30);
    }
}
