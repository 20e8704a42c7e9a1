package org.tlsrelay.core.report;

import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import org.tlsrelay.core.policy.mtasts.FetchResult;
import org.tlsrelay.core.policy.mtasts.PolicyFetcher;
import org.tlsrelay.core.policy.mtasts.PolicyParse;
import org.tlsrelay.core.policy.mtasts.PolicyParser;
import org.tlsrelay.core.tls.TlsFailureType;

/**
 * A {@link PolicyFetcher} that tells the {@link OutcomeRecorder} about every failed MTA-STS policy fetch, with its
 * RFC 8460 §4.3.2.2 type: {@code sts-policy-fetch-error} and {@code sts-webpki-invalid} from the fetch itself,
 * {@code sts-policy-invalid} when the body does not parse (the same strict parser the resolver applies next). Wrap
 * the relay's fetcher with it before building the {@code MtaStsResolver}; the resolver's back-off (at least five
 * minutes per domain) keeps this to one event per real fetch attempt, not one per message.
 */
public final class ReportingPolicyFetcher implements PolicyFetcher {
    private final PolicyFetcher delegate;
    private final OutcomeRecorder recorder;
    private final Clock clock;

    public ReportingPolicyFetcher(PolicyFetcher delegate, OutcomeRecorder recorder, Clock clock) {
        this.delegate = delegate;
        this.recorder = recorder;
        this.clock = clock;
    }

    @Override
    public CompletableFuture<FetchResult> fetch(String domain) {
        return delegate.fetch(domain)
                .thenApply(
                        result -> {
                            if (result instanceof FetchResult.Failed f) {
                                recorder.recordStsFailure(
                                        clock.instant(),
                                        domain,
                                        f.type(),
                                        f.url() + ": " + f.detail());
                            } else if (result instanceof FetchResult.Fetched fetched) {
                                PolicyParse parsed = PolicyParser.parse(fetched.body());
                                if (!parsed.valid()) {
                                    recorder.recordStsFailure(
                                            clock.instant(),
                                            domain,
                                            TlsFailureType.STS_POLICY_INVALID,
                                            fetched.url()
                                                    + ": "
                                                    + String.join("; ", parsed.errors()));
                                }
                            }
                            return result;
                        });
    }
}
