package org.tlsrelay.smtp.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetupTest;
import jakarta.mail.Address;
import jakarta.mail.BodyPart;
import jakarta.mail.Part;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.ContentType;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.report.Aggregator;
import org.tlsrelay.core.report.OutboxEntry;
import org.tlsrelay.core.report.OutcomeLog;
import org.tlsrelay.core.report.OutcomeRecorder;
import org.tlsrelay.core.report.ReportJson;
import org.tlsrelay.core.report.ReportOutbox;
import org.tlsrelay.core.report.ReportService;
import org.tlsrelay.core.report.TlsExemption;
import org.tlsrelay.core.report.TlsReport;
import org.tlsrelay.core.report.TlsRptLookup;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.dns.DnsjavaResolver;
import org.tlsrelay.smtp.outbound.DeliveryAttemptResult;
import org.tlsrelay.smtp.outbound.DeliveryTarget;
import org.tlsrelay.smtp.outbound.MessageContent;
import org.tlsrelay.smtp.outbound.OutboundClient;
import org.tlsrelay.smtp.outbound.OutboundMessage;
import org.tlsrelay.smtp.outbound.OutboundSettings;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.DnsStubServer;
import org.tlsrelay.testkit.MutableClock;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestHttpsServer;
import org.tlsrelay.testkit.TestPolicies;

/**
 * A day of real deliveries through the outbound client to test MXs on loopback (one good, one with a certificate for
 * another name, one without STARTTLS) under an enforced MTA-STS policy, recorded by the outcome recorder, reported per
 * RFC 8460 to the rua endpoints a DNS stub publishes: an HTTPS server on loopback and a mail address, through the
 * relay's own spool and on to GreenMail.
 */
class TlsReportingEndToEndTest {
    static final String DOMAIN = "example.test";
    static final String TESTING = "testing.test";
    static final Duration WAIT = Duration.ofSeconds(10);
    static final Aggregator.Identity ID =
            new Aggregator.Identity("Test Org", "mailto:tlsrpt@relay.test", "relay.test");

    static TestCa ca;
    static TestCa.Issued good;
    static TestCa.Issued wrongName;
    static TestCa.Issued httpsCert;

    @TempDir Path dir;
    DnsStubServer dns;
    TestHttpsServer https;
    GreenMail greenMail;
    final List<TestMx> mxs = new ArrayList<>();
    OutboundClient client;
    OutcomeRecorder recorder;
    Spool spool;
    final LocalDate today = LocalDate.now(ZoneOffset.UTC);
    final MutableClock reportClock =
            new MutableClock(
                    today.plusDays(1)
                            .atStartOfDay(ZoneOffset.UTC)
                            .toInstant()
                            .plus(Duration.ofMinutes(10)));

    @BeforeAll
    static void certificates() {
        ca = TestCa.create("Report Test CA");
        good = ca.issue("mx1.example.test");
        wrongName = ca.issue("mx.elsewhere.test");
        httpsCert = ca.issue("127.0.0.1", "localhost");
    }

    @BeforeEach
    void start() throws Exception {
        dns = DnsStubServer.start();
        https = TestHttpsServer.start(httpsCert.serverContext());
        https.respond("/tlsrpt", TestHttpsServer.Response.status(200));
        dns.txt(
                "_smtp._tls." + DOMAIN,
                "v=TLSRPTv1; ",
                "rua=mailto:tlsrpt@reports.test,",
                "https://127.0.0.1:" + https.port() + "/tlsrpt");
        greenMail = new GreenMail(ServerSetupTest.SMTP.dynamicPort());
        greenMail.start();
        client =
                new OutboundClient(
                        OutboundSettings.defaults("relay.test").withTimeouts(WAIT, WAIT),
                        TrustMaterial.of(List.of(ca.certificate())),
                        outcome -> recorder.record(outcome));
        recorder =
                OutcomeRecorder.start(
                        new OutcomeLog(reports()), OutcomeRecorder.Settings.defaults());
        spool = Spool.open(dir.resolve("spool"), Spool.Options.defaults().withFsync(false));
    }

    @AfterEach
    void stop() throws Exception {
        client.close();
        recorder.close();
        spool.close();
        for (TestMx mx : mxs) {
            mx.close();
        }
        greenMail.stop();
        https.close();
        dns.close();
    }

    Path reports() {
        return dir.resolve("reports");
    }

    TestMx mx(TestMx.Builder b) throws Exception {
        TestMx mx = b.start();
        mxs.add(mx);
        return mx;
    }

    static ResolvedPolicy sts(String domain, PolicyMode mode) {
        return TestPolicies.sts(domain, mode, 604_800, "*." + domain);
    }

    DeliveryAttemptResult deliver(TestMx mx, String mxHost, ResolvedPolicy policy)
            throws Exception {
        OutboundMessage m =
                OutboundMessage.of(
                        "q" + System.nanoTime(),
                        "sender@relay.test",
                        List.of("user@" + policy.domain()),
                        MessageContent.ofBytes(
                                "Subject: hi\r\n\r\nhello\r\n"
                                        .getBytes(StandardCharsets.US_ASCII)));
        return client.deliver(
                        new DeliveryTarget(mxHost, mx.address(), mx.port()),
                        m,
                        TestPolicies.permit(policy, mxHost))
                .get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
    }

    ReportService service(Spool s) {
        DnsjavaResolver resolver =
                DnsjavaResolver.create(
                        List.of(dns.address().toSocketAddress()), Duration.ofSeconds(2));
        return new ReportService(
                new OutcomeLog(reports()),
                new ReportOutbox(reports()),
                new TlsRptLookup(resolver),
                List.of(
                        new SpoolMailTransport(s, "tlsrpt@relay.test", reportClock),
                        new HttpsReportTransport(
                                TrustMaterial.of(List.of(ca.certificate())), resolver, WAIT, true)),
                ReportService.Settings.defaults(ID),
                reportClock);
    }

    /** A day: two good sessions, one to an MX with the wrong certificate, one to an MX without STARTTLS. */
    void aDayOfDeliveries(boolean restartInTheMiddle) throws Exception {
        TestMx goodMx = mx(TestMx.builder().hostname("mx1.example.test").startTls(good));
        TestMx wrongMx = mx(TestMx.builder().hostname("mx2.example.test").startTls(wrongName));
        TestMx plainMx = mx(TestMx.builder().hostname("mx3.example.test"));
        ResolvedPolicy enforce = sts(DOMAIN, PolicyMode.ENFORCE);
        assertInstanceOf(
                DeliveryAttemptResult.Completed.class,
                deliver(goodMx, "mx1.example.test", enforce));
        if (restartInTheMiddle) {
            recorder.close();
            recorder =
                    OutcomeRecorder.start(
                            new OutcomeLog(reports()), OutcomeRecorder.Settings.defaults());
        }
        client.close(); // no connection reuse: every delivery is its own session
        client =
                new OutboundClient(
                        OutboundSettings.defaults("relay.test").withTimeouts(WAIT, WAIT),
                        TrustMaterial.of(List.of(ca.certificate())),
                        outcome -> recorder.record(outcome));
        assertInstanceOf(
                DeliveryAttemptResult.Completed.class,
                deliver(goodMx, "mx1.example.test", enforce));
        assertInstanceOf(
                DeliveryAttemptResult.Refused.class, deliver(wrongMx, "mx2.example.test", enforce));
        assertInstanceOf(
                DeliveryAttemptResult.Refused.class, deliver(plainMx, "mx3.example.test", enforce));
        assertFalse(wrongMx.saw("MAIL FROM"));
        TestMx testingMx = mx(TestMx.builder().hostname("mx1.testing.test"));
        assertInstanceOf(
                DeliveryAttemptResult.Completed.class,
                deliver(testingMx, "mx1.testing.test", sts(TESTING, PolicyMode.TESTING)));
        assertTrue(recorder.flush(WAIT));
    }

    @Test
    void aDayOfDeliveriesGivesAnRfc8460ReportThatReachesBothKindsOfRua() throws Exception {
        aDayOfDeliveries(false);

        ReportService.RunResult result = service(spool).run(today, false);

        assertTrue(result.allSent(), result.toString());
        assertEquals(2, result.attempts().size());
        // the HTTPS rua got the gzip report
        TestHttpsServer.Request post = https.requests().get(0);
        assertEquals("POST", post.method());
        assertEquals("/tlsrpt", post.path());
        assertEquals(List.of("application/tlsrpt+gzip"), post.headers().get("Content-type"));
        JsonNode json = ReportJson.mapper().readTree(gunzip(post.body()));
        checkReport(json);
        assertTrue(result.notReporting().containsKey(TESTING), "no TLSRPT record for " + TESTING);

        // the mailto rua: a multipart/report in the spool, exempt from TLS enforcement
        List<QueuedMessage> queued = spool.list();
        assertEquals(1, queued.size());
        QueuedMessage q = queued.get(0);
        assertTrue(TlsExemption.isExempt(q.envelope()), q.envelope().notes().toString());
        assertEquals("tlsrpt@relay.test", q.envelope().sender());
        assertEquals("tlsrpt@reports.test", q.envelope().recipients().get(0).address());
        byte[] raw;
        try (InputStream in = q.openBody()) {
            raw = in.readAllBytes();
        }
        MimeMessage fromSpool =
                new MimeMessage(
                        Session.getInstance(new Properties()), new ByteArrayInputStream(raw));
        checkMail(fromSpool, json.get("report-id").asText());

        // and GreenMail receives it over SMTP, attachment intact
        Session session = Session.getInstance(new Properties());
        try (Transport t = session.getTransport("smtp")) {
            t.connect("127.0.0.1", greenMail.getSmtp().getPort(), null, null);
            t.sendMessage(
                    new MimeMessage(session, new ByteArrayInputStream(raw)),
                    new Address[] {new InternetAddress("tlsrpt@reports.test")});
        }
        assertTrue(greenMail.waitForIncomingEmail(WAIT.toMillis(), 1));
        MimeMessage received = greenMail.getReceivedMessages()[0];
        JsonNode mailed = checkMail(received, json.get("report-id").asText());
        assertEquals(json, mailed, "the same report by mail and by HTTPS");

        // a second run (a restarted relay) sends nothing again
        assertTrue(service(spool).run(today, false).allSent());
        assertEquals(1, https.requests().size());
        assertEquals(1, spool.list().size());
    }

    @Test
    void aRestartInTheMiddleOfTheDayKeepsTheCounts() throws Exception {
        aDayOfDeliveries(true);
        ReportService.Preview p = service(spool).preview(today, java.util.Optional.empty());
        TlsReport r = p.reportsToSend().get(0);
        assertEquals(2, r.policies().get(0).summary().totalSuccessfulSessionCount());
        assertEquals(2, r.policies().get(0).summary().totalFailureSessionCount());
        assertEquals(1, p.aggregate().shadow().get(0).wouldRefuse());
        assertEquals(TESTING, p.aggregate().shadow().get(0).policyDomain());
    }

    @Test
    void aFailedPostIsRetriedLater() throws Exception {
        aDayOfDeliveries(false);
        https.respond("/tlsrpt", TestHttpsServer.Response.status(503));
        ReportService s = service(spool);
        ReportService.RunResult first = s.run(today, false);
        assertFalse(first.allSent());
        OutboxEntry.Delivery d =
                new ReportOutbox(reports()).load(today, DOMAIN).orElseThrow().deliveries().get(1);
        assertEquals(OutboxEntry.State.PENDING, d.state());
        assertTrue(d.lastResult().contains("HTTP 503"), d.lastResult());

        https.respond("/tlsrpt", TestHttpsServer.Response.status(202));
        reportClock.advance(Duration.ofMinutes(5));
        List<ReportService.Attempt> retry = s.deliverDue();
        assertEquals(1, retry.size(), "only the HTTPS rua is retried; the mail was queued already");
        assertEquals(OutboxEntry.State.SENT, retry.get(0).state());
        assertEquals(2, https.requests().size());
        assertEquals(
                List.of(https.requests().get(0).body().length),
                List.of(https.requests().get(1).body().length));
        assertEquals(
                ReportJson.mapper().readTree(gunzip(https.requests().get(0).body())),
                ReportJson.mapper().readTree(gunzip(https.requests().get(1).body())),
                "the same report again");
    }

    void checkReport(JsonNode r) {
        assertEquals("Test Org", r.get("organization-name").asText());
        assertEquals(today + "T00:00:00Z", r.get("date-range").get("start-datetime").asText());
        assertEquals(today + "T23:59:59Z", r.get("date-range").get("end-datetime").asText());
        assertEquals("mailto:tlsrpt@relay.test", r.get("contact-info").asText());
        assertTrue(
                r.get("report-id").asText().endsWith("@relay.test"), r.get("report-id").asText());
        assertEquals(1, r.get("policies").size());
        JsonNode p = r.get("policies").get(0);
        JsonNode policy = p.get("policy");
        assertEquals("sts", policy.get("policy-type").asText());
        assertEquals(
                "[\"version: STSv1\",\"mode: enforce\",\"mx: *.example.test\",\"max_age: 604800\"]",
                policy.get("policy-string").toString());
        assertEquals(DOMAIN, policy.get("policy-domain").asText());
        assertEquals("[\"*.example.test\"]", policy.get("mx-host").toString());
        assertEquals(2, p.get("summary").get("total-successful-session-count").asInt());
        assertEquals(2, p.get("summary").get("total-failure-session-count").asInt());
        JsonNode details = p.get("failure-details");
        assertEquals(2, details.size());
        JsonNode mismatch = details.get(0);
        assertEquals("certificate-host-mismatch", mismatch.get("result-type").asText());
        assertEquals("127.0.0.1", mismatch.get("sending-mta-ip").asText());
        assertEquals("mx2.example.test", mismatch.get("receiving-mx-hostname").asText());
        assertEquals("mx2.example.test", mismatch.get("receiving-mx-helo").asText());
        assertEquals("127.0.0.1", mismatch.get("receiving-ip").asText());
        assertEquals(1, mismatch.get("failed-session-count").asInt());
        assertTrue(
                mismatch.get("failure-reason-code").asText().contains("mx.elsewhere.test"),
                mismatch.get("failure-reason-code").asText());
        JsonNode plain = details.get(1);
        assertEquals("starttls-not-supported", plain.get("result-type").asText());
        assertEquals("mx3.example.test", plain.get("receiving-mx-hostname").asText());
        assertEquals(1, plain.get("failed-session-count").asInt());
        List<String> fields = new ArrayList<>();
        mismatch.fieldNames().forEachRemaining(fields::add);
        assertEquals(
                List.of(
                        "result-type",
                        "sending-mta-ip",
                        "receiving-mx-hostname",
                        "receiving-mx-helo",
                        "receiving-ip",
                        "failed-session-count",
                        "failure-reason-code"),
                fields);
    }

    /** Checks the RFC 8460 §5.3 form of a report mail and returns the attached report. */
    JsonNode checkMail(MimeMessage m, String reportId) throws Exception {
        ContentType type = new ContentType(m.getContentType());
        assertTrue(type.match("multipart/report"), m.getContentType());
        assertEquals("tlsrpt", type.getParameter("report-type"));
        assertTrue(
                m.getHeader("Content-Type")[0].contains("report-type=\"tlsrpt\""),
                m.getHeader("Content-Type")[0]);
        assertEquals(DOMAIN, m.getHeader("TLS-Report-Domain")[0]);
        assertEquals("relay.test", m.getHeader("TLS-Report-Submitter")[0]);
        assertEquals(
                "Report Domain: " + DOMAIN + " Submitter: relay.test Report-ID: <" + reportId + ">",
                m.getSubject());
        assertEquals("No", m.getHeader("TLS-Required")[0]);
        MimeMultipart parts = (MimeMultipart) m.getContent();
        assertEquals(2, parts.getCount());
        assertTrue(parts.getBodyPart(0).isMimeType("text/plain"));
        BodyPart report = parts.getBodyPart(1);
        assertTrue(report.isMimeType("application/tlsrpt+gzip"), report.getContentType());
        assertEquals(Part.ATTACHMENT, report.getDisposition());
        String name = report.getFileName();
        assertNotNull(name);
        long begin = today.atStartOfDay(ZoneOffset.UTC).toEpochSecond();
        String unique = reportId.substring(0, reportId.indexOf('@'));
        assertEquals(
                "relay.test!"
                        + DOMAIN
                        + "!"
                        + begin
                        + "!"
                        + (begin + 86_399)
                        + "!"
                        + unique
                        + ".json.gz",
                name);
        byte[] gz;
        try (InputStream in = report.getInputStream()) {
            gz = in.readAllBytes();
        }
        return ReportJson.mapper().readTree(gunzip(gz));
    }

    static byte[] gunzip(byte[] gz) throws Exception {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            return in.readAllBytes();
        }
    }

    @Test
    void aMailRuaWithASizeLimitTooSmallIsNotSent() throws Exception {
        aDayOfDeliveries(false);
        dns.remove("_smtp._tls." + DOMAIN)
                .txt("_smtp._tls." + DOMAIN, "v=TLSRPTv1; rua=mailto:tiny@reports.test!1k");
        ReportService.RunResult r = service(spool).run(today, false);
        assertFalse(r.allSent());
        assertEquals(OutboxEntry.State.REFUSED, r.attempts().get(0).state());
        assertTrue(r.attempts().get(0).detail().contains("1024"), r.attempts().get(0).detail());
        assertTrue(spool.list().isEmpty());
    }
}
