package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tlsrelay.core.metrics.RelayMetrics.Rejection;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.RecipientStatus.Notify;
import org.tlsrelay.smtp.inbound.EsmtpParameters.MailFrom;
import org.tlsrelay.smtp.inbound.EsmtpParameters.Parsed;
import org.tlsrelay.smtp.inbound.EsmtpParameters.RcptTo;

/** The MAIL and RCPT argument codec: the text after the verb in, a value or the refusing reply out. */
class EsmtpParametersTest {
    private static final long MAX_SIZE = 1000;

    private static MailFrom mail(String args, boolean tls) {
        Parsed<MailFrom> p = EsmtpParameters.mailFrom(args, MAX_SIZE, tls);
        return assertInstanceOf(Parsed.Ok.class, p, () -> "refused: " + p).value()
                        instanceof MailFrom m
                ? m
                : null;
    }

    private static Refusal mailRefusal(String args, boolean tls) {
        Parsed<MailFrom> p = EsmtpParameters.mailFrom(args, MAX_SIZE, tls);
        return assertInstanceOf(Parsed.Refused.class, p, () -> "accepted: " + p).refusal();
    }

    private static RcptTo rcpt(String args) {
        Parsed<RcptTo> p = EsmtpParameters.rcptTo(args);
        return assertInstanceOf(Parsed.Ok.class, p, () -> "refused: " + p).value()
                        instanceof RcptTo r
                ? r
                : null;
    }

    private static Refusal rcptRefusal(String args) {
        Parsed<RcptTo> p = EsmtpParameters.rcptTo(args);
        return assertInstanceOf(Parsed.Refused.class, p, () -> "accepted: " + p).refusal();
    }

    @Test
    void aSenderWithoutADomainIsRefusedAndTheBarePostmasterStaysARecipient() {
        assertEquals(
                "553 5.1.7 Error: the sender address needs a domain (<postmaster@example.org>, not"
                        + " <postmaster>)",
                mailRefusal(" FROM:<postmaster>", false).reply());
        assertEquals(
                "553 5.1.7 Error: the sender address needs a domain (<postmaster@example.org>, not"
                        + " <postmaster>)",
                mailRefusal(" FROM:<PostMaster>", false).reply());
        assertEquals("postmaster", rcpt(" TO:<postmaster>").path().mailbox());
        assertEquals(0, mail(" FROM:<a@example.org>", false).size());
        assertEquals(999, mail(" FROM:<a@example.org> SIZE=999", false).size());
    }

    @Test
    void aPlainMailFromHasNoParameters() {
        MailFrom m = mail(" FROM:<alice@example.org>", false);
        assertEquals("alice@example.org", m.path().mailbox());
        assertEquals(Envelope.BodyType.UNSPECIFIED, m.body());
        assertEquals(Envelope.Ret.UNSPECIFIED, m.ret());
        assertEquals("", m.envid());
        assertFalse(m.smtpUtf8());
        assertFalse(m.requireTls());
    }

    @Test
    void everyMailParameterIsReadCaseInsensitively() {
        MailFrom m =
                mail(
                        "from:<alice@example.org> size=1000 Body=8bitmime smtputf8 ret=hdrs"
                                + " ENVID=QQ+2B1 AUTH=<> REQUIRETLS",
                        true);
        assertEquals(Envelope.BodyType.EIGHT_BIT_MIME, m.body());
        assertTrue(m.smtpUtf8());
        assertEquals(Envelope.Ret.HDRS, m.ret());
        assertEquals("QQ+1", m.envid(), "ENVID is xtext-decoded (RFC 3461 §4.4)");
        assertTrue(m.requireTls());
    }

    @Test
    void theNullReversePathIsASender() {
        assertEquals("", mail("FROM:<> BODY=7BIT", false).path().mailbox());
    }

    @ParameterizedTest(name = "MAIL{0} -> {1}")
    @CsvSource(
            delimiter = '|',
            value = {
                " TO:<a@example.org>          | 501 5.5.4 Syntax: MAIL FROM:<address>",
                " FROM:a@example.org          | 501 5.1.7 Bad sender address syntax: ",
                " FROM:<a@example.org> SIZE=1 SIZE=2 | 501 5.5.4 Error: duplicate parameter SIZE",
                " FROM:<a@example.org> SIZE=x | 501 5.5.4 Error: bad SIZE value",
                " FROM:<a@example.org> BODY=BINARYMIME | 555 5.5.4 Unsupported BODY value BINARYMIME",
                " FROM:<a@example.org> SMTPUTF8=yes | 501 5.5.4 Error: SMTPUTF8 takes no value",
                " FROM:<a@example.org> RET=ALL | 501 5.5.4 Error: RET must be FULL or HDRS",
                " FROM:<a@example.org> ENVID=a+zz | 501 5.5.4 Error: bad ENVID: ",
                " FROM:<a@example.org> ENVID= | 501 5.1.7 Bad sender address syntax: malformed parameter",
                " FROM:<a@example.org> REQUIRETLS=1 | 501 5.5.4 Error: REQUIRETLS takes no value",
                " FROM:<a@example.org> REQUIRETLS | 530 5.7.10 REQUIRETLS needs a TLS session: issue"
                        + " STARTTLS first",
                " FROM:<a@example.org> X-FOO=1 | 555 5.5.4 Unsupported option: X-FOO",
                " FROM:<jörg@example.org>     | 553 5.6.7 Non-ASCII address needs the SMTPUTF8"
                        + " parameter (RFC 6531)",
            })
    void aMalformedMailIsRefusedWithItsReply(String args, String reply) {
        Refusal r = mailRefusal(args, false);
        assertTrue(r.reply().startsWith(reply), r.reply());
        assertEquals(Optional.empty(), r.counted(), "syntax errors are not counted");
    }

    @Test
    void anEnvidIsOneToAHundredCharactersAsSent() {
        assertEquals(
                "a".repeat(100),
                mail("FROM:<a@example.org> ENVID=" + "a".repeat(100), false).envid());
        assertEquals(
                "501 5.5.4 Error: ENVID must be 1 to 100 characters",
                mailRefusal("FROM:<a@example.org> ENVID=" + "a".repeat(101), false).reply());
    }

    @Test
    void aDeclaredSizeOverTheLimitIsRefusedUpFrontAndCounted() {
        assertEquals(
                new Refusal(
                        "552 5.3.4 Message size exceeds fixed maximum message size",
                        Optional.of(Rejection.MESSAGE_SIZE)),
                mailRefusal("FROM:<a@example.org> SIZE=1001", false));
        assertEquals(
                Rejection.MESSAGE_SIZE,
                mailRefusal("FROM:<a@example.org> SIZE=99999999999999999999", false)
                        .counted()
                        .orElseThrow());
        assertEquals(
                Envelope.BodyType.UNSPECIFIED,
                mail("FROM:<a@example.org> SIZE=1000", false).body());
    }

    @Test
    void aNonAsciiSenderIsAcceptedWithSmtpUtf8() {
        assertEquals(
                "jörg@example.org",
                mail("FROM:<jörg@example.org> SMTPUTF8", false).path().mailbox());
    }

    @Test
    void rcptReadsNotifyAndOrcpt() {
        RcptTo r =
                rcpt(" TO:<bob@example.com> NOTIFY=success,DELAY ORCPT=rfc822;bob+2B1@example.com");
        assertEquals("bob@example.com", r.path().mailbox());
        assertEquals(EnumSet.of(Notify.SUCCESS, Notify.DELAY), r.dsnNotify());
        assertEquals("rfc822;bob+1@example.com", r.orcpt());
        assertEquals(EnumSet.noneOf(Notify.class), rcpt("TO:<bob@example.com>").dsnNotify());
        assertEquals(
                EnumSet.of(Notify.NEVER), rcpt("TO:<bob@example.com> NOTIFY=NEVER").dsnNotify());
    }

    @Test
    void rcptLeavesAddressFormsToRelayAccess() {
        RcptTo r = rcpt("TO:<@relay.test:bob@example.com>");
        assertTrue(r.path().sourceRoute());
        assertTrue(rcpt("TO:<postmaster>").path().domainless());
        assertTrue(rcpt("TO:<bob@[192.0.2.1]>").path().addressLiteral());
    }

    @ParameterizedTest(name = "RCPT{0} -> {1}")
    @CsvSource(
            delimiter = '|',
            value = {
                " FROM:<bob@example.com>       | 501 5.5.4 Syntax: RCPT TO:<address>",
                " TO:<>                        | 501 5.1.3 Bad recipient address syntax: ",
                " TO:<b@example.com> NOTIFY=NEVER NOTIFY=NEVER | 501 5.5.4 Error: duplicate parameter"
                        + " NOTIFY",
                " TO:<b@example.com> NOTIFY=SOMETIMES | 501 5.5.4 Error: bad NOTIFY value",
                " TO:<b@example.com> NOTIFY=SUCCESS, | 501 5.5.4 Error: bad NOTIFY value",
                " TO:<b@example.com> NOTIFY=NEVER,DELAY | 501 5.5.4 Error: NOTIFY=NEVER cannot be"
                        + " combined",
                " TO:<b@example.com> ORCPT=b@example.com | 501 5.5.4 Error: bad ORCPT: must be"
                        + " addr-type;address",
                " TO:<b@example.com> ORCPT=rfc822;b+zz | 501 5.5.4 Error: bad ORCPT: ",
                " TO:<b@example.com> SIZE=10    | 555 5.5.4 Unsupported option: SIZE",
            })
    void aMalformedRcptIsRefusedWithItsReply(String args, String reply) {
        Refusal r = rcptRefusal(args);
        assertTrue(r.reply().startsWith(reply), r.reply());
        assertEquals(Optional.empty(), r.counted());
    }
}
