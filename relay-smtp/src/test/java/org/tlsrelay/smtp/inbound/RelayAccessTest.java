package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.tlsrelay.core.config.Network;
import org.tlsrelay.core.metrics.RelayMetrics.Rejection;

/** Never an open relay: clients outside server.networks that did not authenticate relay nothing. */
class RelayAccessTest {
    @TempDir Path dir;

    @ParameterizedTest(name = "RCPT TO:<{0}>")
    @ValueSource(
            strings = {
                "bob@example.com",
                "bob%evil.example@relay.test",
                "bob%evil.example@example.com",
                "@relay.test,@evil.example:bob@example.com",
                "@relay.test:bob@evil.example",
                "\"bob@evil.example\"@relay.test",
                "\"bob%evil.example\"@relay.test",
                "bob@[192.0.2.1]",
                "bob@[IPv6:2001:db8::1]",
                "postmaster",
                "Postmaster",
                "evil.example!bob@relay.test",
                "bob@RELAY.TEST",
                "BOB@EXAMPLE.COM"
            })
    void aClientOutsideTheNetworksCannotRelayWithAnyAddressForm(String rcpt) throws IOException {
        try (InboundFixture f = InboundFixture.builder().networks("10.0.0.0/8").start(dir);
                RawSmtpClient c = f.ehlo()) {
            assertEquals(250, c.command("MAIL FROM:<someone@example.org>").code());
            RawSmtpClient.Reply r = c.command("RCPT TO:<" + rcpt + ">");
            assertEquals(554, r.code(), r.text());
            assertEquals("554 5.7.1", r.last().substring(0, 9));
            assertEquals("554 5.5.1 Error: no valid recipients", c.command("DATA").last());
            assertEquals(List.of(), f.files("incoming"));
        }
    }

    @Test
    void theRefusalDoesNotDependOnTheSenderOrHelo() throws IOException {
        try (InboundFixture f = InboundFixture.builder().networks("10.0.0.0/8").start(dir);
                RawSmtpClient c = f.connect()) {
            assertEquals(250, c.command("EHLO relay.test").code());
            assertEquals(250, c.command("MAIL FROM:<postmaster@relay.test>").code());
            assertEquals(554, c.command("RCPT TO:<bob@example.com>").code());
        }
    }

    @Test
    void aTrustedClientMayNotRelayThroughSourceRoutesOrAddressLiterals() throws IOException {
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            assertEquals(250, c.command("MAIL FROM:<someone@example.org>").code());
            assertEquals(
                    "550 5.7.1 <bob@example.com>: source routes are not relayed",
                    c.command("RCPT TO:<@hop.example:bob@example.com>").last());
            assertEquals(550, c.command("RCPT TO:<bob@[192.0.2.1]>").code());
            assertEquals(550, c.command("RCPT TO:<postmaster>").code());
            assertEquals(501, c.command("RCPT TO:<bob@example..com>").code());
            assertEquals(501, c.command("RCPT TO:<>").code());
            // A quoted '@' or a '%' stays in the local part: the mail goes to the domain after the
            // last '@'.
            assertEquals(250, c.command("RCPT TO:<\"bob@evil.example\"@example.com>").code());
            assertEquals(250, c.command("RCPT TO:<bob%evil.example@example.com>").code());
            RawSmtpClient.expect(c.command("DATA"), 354);
            String id = InboundServerTest.queuedId(c.send("Subject: x\r\n\r\n.\r\n").reply());
            var rcpts = f.spool.find(id).orElseThrow().envelope().recipients();
            assertEquals(
                    List.of("example.com", "example.com"),
                    rcpts.stream().map(r -> r.domain()).toList());
            assertEquals("\"bob@evil.example\"@example.com", rcpts.get(0).address());
        }
    }

    // ---- the policy alone, as a table: client permission x address form -> refusal

    @ParameterizedTest(name = "trusted={0} user={1} RCPT TO:{2} smtputf8={3} -> {4}")
    @CsvSource(
            delimiter = '|',
            value = {
                "true  | ''    | <bob@example.com>             | false | ok",
                "false | alice | <bob@example.com>             | false | ok",
                "false | ''    | <bob@example.com>             | false | 554 5.7.1 <bob@example.com>: Relay"
                        + " access denied",
                "false | ''    | <@hop.example:bob@example.com> | false | 554 5.7.1",
                "false | ''    | <postmaster>                  | false | 554 5.7.1",
                "true  | ''    | <@hop.example:bob@example.com> | false | 550 5.7.1 <bob@example.com>:"
                        + " source routes are not relayed",
                "false | alice | <bob@[192.0.2.1]>             | false | 550 5.7.1 <bob@[192.0.2.1]>:"
                        + " address literals are not relayed, use a domain",
                "true  | ''    | <Postmaster>                  | false | 550 5.1.1 <Postmaster>: this relay"
                        + " has no local mailboxes",
                "true  | ''    | <jörg@example.com>            | false | 553 5.6.7",
                "true  | ''    | <jörg@example.com>            | true  | ok",
            })
    void thePolicyDecidesByPermissionThenAddressForm(
            boolean trusted, String user, String rcpt, boolean smtpUtf8, String expected)
            throws SmtpPath.SyntaxException {
        RelayAccess access = new RelayAccess(List.of(Network.parse("127.0.0.0/8")));
        Optional<Refusal> r = access.refusal(trusted, user, SmtpPath.parse(rcpt, false), smtpUtf8);
        if (expected.equals("ok")) {
            assertEquals(Optional.empty(), r);
        } else {
            assertTrue(r.orElseThrow().reply().startsWith(expected), r.get().reply());
            assertEquals(
                    expected.startsWith("554") ? Rejection.RELAY_DENIED : Rejection.BAD_RECIPIENT,
                    r.get().counted().orElseThrow());
        }
    }

    @Test
    void onlyClientsInTheNetworksAreTrusted() throws Exception {
        RelayAccess access =
                new RelayAccess(List.of(Network.parse("10.0.0.0/8"), Network.parse("::1/128")));
        assertTrue(access.trusted(InetAddress.getByName("10.1.2.3")));
        assertTrue(access.trusted(InetAddress.getByName("::1")));
        assertFalse(access.trusted(InetAddress.getByName("127.0.0.1")));
        assertFalse(access.trusted(InetAddress.getByName("11.0.0.1")));
    }
}
