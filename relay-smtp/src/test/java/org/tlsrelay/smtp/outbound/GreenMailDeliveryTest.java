package org.tlsrelay.smtp.outbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import jakarta.mail.internet.MimeMessage;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestPolicies;

/** Against an SMTP server written by others (GreenMail 2.1, no STARTTLS): the conversation and the content hold. */
class GreenMailDeliveryTest {
    private static final String MX = "mx.greenmail.test";

    private final List<TlsOutcome> outcomes = new CopyOnWriteArrayList<>();
    private GreenMail greenMail;
    private OutboundClient client;

    @BeforeEach
    void start() {
        greenMail =
                new GreenMail(
                        new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP).dynamicPort());
        greenMail.start();
        client =
                new OutboundClient(
                        OutboundSettings.defaults("relay.test")
                                .withTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5)),
                        TrustMaterial.of(List.of(TestCa.create("unused").certificate())),
                        outcomes::add);
    }

    @AfterEach
    void stop() {
        client.close();
        greenMail.stop();
    }

    @Test
    void deliversOpportunisticallyWithContentIntact() throws Exception {
        String body =
                "Subject: interop\r\nFrom: a@relay.test\r\nTo: b@greenmail.test\r\n\r\n"
                        + ".starts with a dot\r\n.\r\n..\r\nend\r\n";
        OutboundMessage m =
                OutboundMessage.of(
                        "G1",
                        "a@relay.test",
                        List.of("b@greenmail.test", "c@greenmail.test"),
                        MessageContent.ofBytes(body.getBytes(StandardCharsets.UTF_8)));

        DeliveryAttemptResult result = deliver(m, TestPolicies.none("greenmail.test"));

        DeliveryAttemptResult.Completed done =
                assertInstanceOf(DeliveryAttemptResult.Completed.class, result);
        assertEquals(2, done.count(RecipientReply.Status.DELIVERED));
        assertTrue(greenMail.waitForIncomingEmail(5_000, 2));
        MimeMessage got = greenMail.getReceivedMessages()[0];
        assertEquals("interop", got.getSubject());
        // GreenMail counts the CRLF before the final dot as part of the terminator, so the last
        // line ending goes
        String content = ((String) got.getContent()).replace("\r\n", "\n");
        assertEquals(".starts with a dot\n.\n..\nend", content.stripTrailing());
        assertEquals(
                TlsFailureType.STARTTLS_NOT_SUPPORTED,
                ((TlsResult.Failure) outcomes.get(0).result()).type());
    }

    @Test
    void neverSendsMailFromToItUnderEnforce() throws Exception {
        ResolvedPolicy enforce =
                ResolvedPolicy.override(
                        "greenmail.test",
                        new Policy(PolicyMode.ENFORCE, List.of(MxPattern.ofOverride(MX))),
                        false,
                        "an override made by the test");
        OutboundMessage m =
                OutboundMessage.of(
                        "G2",
                        "a@relay.test",
                        List.of("b@greenmail.test"),
                        MessageContent.ofBytes(
                                "Subject: no\r\n\r\nno\r\n".getBytes(StandardCharsets.UTF_8)));

        DeliveryAttemptResult result = deliver(m, enforce);

        assertEquals(
                TlsFailureType.STARTTLS_NOT_SUPPORTED,
                assertInstanceOf(DeliveryAttemptResult.Refused.class, result).verdict().failure());
        assertEquals(0, greenMail.getReceivedMessages().length);
    }

    private DeliveryAttemptResult deliver(OutboundMessage m, ResolvedPolicy policy)
            throws Exception {
        DeliveryTarget target =
                new DeliveryTarget(
                        MX, InetAddress.getByName("127.0.0.1"), greenMail.getSmtp().getPort());
        return client.deliver(target, m, TestPolicies.permit(policy, MX)).get(10, TimeUnit.SECONDS);
    }
}
