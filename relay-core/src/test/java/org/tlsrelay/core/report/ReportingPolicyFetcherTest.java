package org.tlsrelay.core.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.policy.mtasts.FetchResult;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.testkit.MutableClock;

/** MTA-STS fetch failures reach the outcome log; report mail is marked exempt only when the relay made it. */
class ReportingPolicyFetcherTest {
    @TempDir Path dir;

    @Test
    void recordsFetchErrorsAndInvalidPoliciesButNotGoodOnes() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2025-06-01T10:00:00Z"));
        OutcomeLog log = new OutcomeLog(dir);
        try (OutcomeRecorder recorder =
                OutcomeRecorder.start(log, OutcomeRecorder.Settings.defaults())) {
            String url = "https://mta-sts.example.com/.well-known/mta-sts.txt";
            List<FetchResult> answers =
                    List.of(
                            new FetchResult.Failed(
                                    url, TlsFailureType.STS_POLICY_FETCH_ERROR, "HTTP 404"),
                            new FetchResult.Fetched(
                                    url,
                                    "version: STSv1\nmode: sometimes\n"
                                            .getBytes(StandardCharsets.UTF_8)),
                            new FetchResult.Fetched(
                                    url,
                                    ("version: STSv1\nmode: enforce\nmx: mx.example.com\n"
                                                    + "max_age: 86400\n")
                                            .getBytes(StandardCharsets.UTF_8)));
            int[] next = {0};
            ReportingPolicyFetcher fetcher =
                    new ReportingPolicyFetcher(
                            domain -> CompletableFuture.completedFuture(answers.get(next[0]++)),
                            recorder,
                            clock);
            for (int i = 0; i < 3; i++) {
                fetcher.fetch("example.com").get();
            }
            assertTrue(recorder.flush(Duration.ofSeconds(10)));
        }
        List<OutcomeEvent> events = log.read(LocalDate.parse("2025-06-01"));
        assertEquals(
                List.of("sts-policy-fetch-error", "sts-policy-invalid"),
                events.stream().map(OutcomeEvent::result).toList());
        assertTrue(events.get(0).detail().contains("HTTP 404"));
    }

    @Test
    void onlyLocallyMadeMessagesCanBeExempt() {
        Instant now = Instant.parse("2025-06-01T10:00:00Z");
        List<RecipientStatus> rcpt =
                List.of(RecipientStatus.pending("a@example.com", Set.of(), "", now));
        Envelope local =
                Envelope.accepted(
                        "id1",
                        now,
                        "r@relay.example",
                        rcpt,
                        null,
                        false,
                        null,
                        "",
                        Envelope.Source.local());
        Envelope marked = TlsExemption.mark(local);
        assertTrue(TlsExemption.isExempt(marked));
        assertFalse(TlsExemption.isExempt(local));
        Envelope smtp =
                Envelope.accepted(
                        "id2",
                        now,
                        "x@client.example",
                        rcpt,
                        null,
                        false,
                        null,
                        "",
                        new Envelope.Source("smtp", "192.0.2.7", "client", "", ""));
        assertThrows(IllegalArgumentException.class, () -> TlsExemption.mark(smtp));
        assertFalse(
                TlsExemption.isExempt(smtp.withNotes(List.of(TlsExemption.NOTE))),
                "a note on a message received over SMTP does not exempt it");
    }
}
