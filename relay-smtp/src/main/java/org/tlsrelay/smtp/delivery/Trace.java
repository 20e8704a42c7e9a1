package org.tlsrelay.smtp.delivery;

import java.time.Instant;
import java.util.Objects;
import org.tlsrelay.core.enforce.MxPolicy;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.smtp.outbound.DeliveryTarget;

/**
 * Where one recipient's attempt went and when each of its phases ended: what its log line says as Postfix's
 * {@code relay=}, {@code tls=}, {@code policy=}, {@code delay=} and {@code delays=a/b/c/d}. Values recorded as the
 * attempt runs; {@link DeliveryLog} formats them only when the line is logged.
 *
 * @param relay the MX address whose reply decided the recipient in a mail transaction; {@link Relay.None} when no MX
 *     did (DNS, the policy before or after connecting, a connection that failed)
 * @param policy the policy in one word and its mode: {@code mta-sts/enforce}, {@code list:partners/testing},
 *     {@code override/enforce}, {@code dane}, {@code none}; {@code -} when no policy was looked up
 * @param started when the attempt got its connection slot: until then the message was queued
 * @param resolved when the domain's policy and MX records were known (DNS and policy)
 * @param transaction when the mail transaction that decided the recipient started; {@code finished} without one
 * @param finished when the recipient's outcome was known
 */
record Trace(
        Relay relay,
        String policy,
        Instant started,
        Instant resolved,
        Instant transaction,
        Instant finished) {

    /** Who gave the recipient's reply. */
    sealed interface Relay {
        /** No MX: the reason is the relay's own. */
        record None() implements Relay {}

        /**
         * This MX address, in a session that ran over {@code tls} ({@code TLSv1.3/TLS_AES_256_GCM_SHA384}, or
         * {@code none} in clear).
         */
        record Mx(DeliveryTarget target, String tls) implements Relay {
            public Mx {
                Objects.requireNonNull(target, "target");
                Objects.requireNonNull(tls, "tls");
            }
        }
    }

    Trace {
        Objects.requireNonNull(relay, "relay");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(started, "started");
        Objects.requireNonNull(resolved, "resolved");
        Objects.requireNonNull(transaction, "transaction");
        Objects.requireNonNull(finished, "finished");
    }

    /** An outcome no MX gave: no transfer phase. */
    static Trace local(String policy, Instant started, Instant resolved, Instant finished) {
        return new Trace(new Relay.None(), policy, started, resolved, finished, finished);
    }

    /** The policy an MX host was judged under: DANE where its TLSA records decide, else the domain's. */
    static String policy(MxPolicy p) {
        return p.daneApplies() ? "dane" : policy(p.domainPolicy());
    }

    /** The domain's policy as {@code source/mode}, or {@code none} when nothing applies (opportunistic TLS). */
    static String policy(ResolvedPolicy p) {
        String mode = p.mode().label();
        return switch (p.source()) {
            case MTA_STS_LIVE, MTA_STS_CACHED -> "mta-sts/" + mode;
            case LIST -> "list:" + p.listName().orElse("") + "/" + mode;
            case OVERRIDE -> "override/" + mode;
            case NONE -> "none";
            case TLSRPT_EXEMPT -> "tlsrpt-exempt";
        };
    }
}
