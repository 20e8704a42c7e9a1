package org.tlsrelay.core.enforce;

import java.util.Objects;

/**
 * {@link Enforcer}'s answer before connecting to an MX host: connect, or skip it without an address look-up or a
 * connection. Made once per MX host; the outbound client only takes a {@link Connect}, so no connection is opened
 * that {@link Enforcer} did not allow.
 */
public sealed interface Admission permits Admission.Connect, Admission.Skip {

    /**
     * Connect to {@link #mxHost()} and let {@link Enforcer#decide} judge the session before {@code MAIL FROM}. Only
     * {@link Enforcer} makes one.
     */
    final class Connect implements Admission {
        private final MxPolicy policy;
        private final String mxHost;
        private final TlsRequirement requirement;

        Connect(MxPolicy policy, String mxHost, TlsRequirement requirement) {
            this.policy = Objects.requireNonNull(policy, "policy");
            this.mxHost = Objects.requireNonNull(mxHost, "mxHost");
            this.requirement = Objects.requireNonNull(requirement, "requirement");
        }

        /** The policy this MX host is judged under. */
        public MxPolicy policy() {
            return policy;
        }

        /** The MX host name as DNS gave it. */
        public String mxHost() {
            return mxHost;
        }

        /** What the message itself asks of TLS. */
        public TlsRequirement requirement() {
            return requirement;
        }

        @Override
        public String toString() {
            return "connect to " + mxHost + " for " + policy.domain() + " (" + requirement + ")";
        }
    }

    /**
     * Do not connect (RFC 8461 §4.1: an MX the enforced policy does not list; RFC 7672 §2.1.1: DANE's DNSSEC
     * look-ups failed; RFC 8689 §4.2.1: no policy authenticates the MX for a REQUIRETLS message).
     */
    record Skip(Verdict.Refuse refusal) implements Admission {
        public Skip {
            Objects.requireNonNull(refusal, "refusal");
        }
    }
}
