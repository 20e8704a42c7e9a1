package org.tlsrelay.core.policy.mtasts;

import java.util.List;
import java.util.Optional;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.tls.TlsFailureType;

/** What a first contact with a domain's MTA-STS shows, step by step (see {@link MtaStsResolver#probe}). */
public final class Probe {
    private final String domain;
    private final DnsResult<List<String>> txt;
    private final StsTxtRecord.Discovery discovery;
    private final FetchResult fetch;
    private final PolicyParse parse;

    Probe(
            String domain,
            DnsResult<List<String>> txt,
            StsTxtRecord.Discovery discovery,
            FetchResult fetch,
            PolicyParse parse) {
        this.domain = domain;
        this.txt = txt;
        this.discovery = discovery;
        this.fetch = fetch;
        this.parse = parse;
    }

    public String domain() {
        return domain;
    }

    /** The answer for {@code _mta-sts.DOMAIN} TXT. */
    public DnsResult<List<String>> txt() {
        return txt;
    }

    /** The §3.1 verdict on the TXT records, unless the look-up failed. */
    public Optional<StsTxtRecord.Discovery> discovery() {
        return Optional.ofNullable(discovery);
    }

    /** The fetch, when discovery found a record. */
    public Optional<FetchResult> fetch() {
        return Optional.ofNullable(fetch);
    }

    /** The parse of the fetched body. */
    public Optional<PolicyParse> parse() {
        return Optional.ofNullable(parse);
    }

    /** The valid policy, when every step succeeded. */
    public Optional<MtaStsPolicy> policy() {
        return parse().flatMap(PolicyParse::policy);
    }

    /** The RFC 8460 failure, when the fetch failed or the policy is invalid. */
    public Optional<StsFailure> failure() {
        if (fetch instanceof FetchResult.Failed f) {
            return Optional.of(new StsFailure(f.type(), f.detail()));
        }
        if (parse != null && !parse.valid()) {
            return Optional.of(
                    new StsFailure(
                            TlsFailureType.STS_POLICY_INVALID, String.join("; ", parse.errors())));
        }
        return Optional.empty();
    }
}
