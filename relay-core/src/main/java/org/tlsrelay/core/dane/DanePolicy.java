package org.tlsrelay.core.dane;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.tlsrelay.core.dns.TlsaRecord;
import org.tlsrelay.core.tls.TlsFailureType;

/**
 * What DANE says about one MX host (RFC 7672 §2.2), as {@link DaneLookup} found it. DANE is decided per MX host and,
 * where it applies, takes precedence over MTA-STS for that host (RFC 8461 §2).
 */
public sealed interface DanePolicy {

    /** The MX host (normalised) this is about. */
    String mxHost();

    /** One line for logs and explanations. */
    String describe();

    /**
     * DANE does not apply: the MX RRset or the host's address records are not DNSSEC-signed (RFC 7672 §2.2.1), or
     * no secure TLSA RRset exists at any candidate TLSA base domain (§2.2.3). Other policies decide.
     */
    record NotApplicable(String mxHost, String reason) implements DanePolicy {
        @Override
        public String describe() {
            return "DANE does not apply to " + mxHost + ": " + reason;
        }
    }

    /**
     * A secure TLSA RRset exists but none of its records is usable for SMTP (only PKIX-TA/PKIX-EE, unknown
     * parameters, malformed data): DANE authenticates nothing and TLS stays opportunistic (RFC 7672 §3.1.3).
     */
    record Unusable(String mxHost, String tlsaBaseDomain, List<TlsaRecord> records)
            implements DanePolicy {
        public Unusable {
            records = List.copyOf(records);
        }

        @Override
        public String describe() {
            return "DANE does not apply to "
                    + mxHost
                    + ": the TLSA records of "
                    + tlsaBaseDomain
                    + " are secure but none is usable for SMTP "
                    + records;
        }
    }

    /**
     * A secure TLSA RRset with at least one usable record: TLS is mandatory for this MX host and its certificate
     * chain must match (RFC 7672 §2.2, §3); {@link #match} decides.
     *
     * @param tlsaBaseDomain the name whose {@code _PORT._tcp} TLSA records were used: the MX host, or the name its
     *     secure CNAME chain led to (RFC 7672 §2.2.3)
     * @param records the whole secure RRset as published (TLS-RPT lists it as the {@code tlsa} policy, RFC 8460
     *     §4.3), usable or not
     */
    record Required(String mxHost, String tlsaBaseDomain, List<TlsaRecord> records)
            implements DanePolicy {
        public Required {
            records = List.copyOf(records);
            if (records.stream().noneMatch(TlsaRecord::usable)) {
                throw new IllegalArgumentException(
                        "DANE is required only with a usable TLSA record");
            }
        }

        /** The records that can authenticate the server (RFC 7672 §3.1). */
        public List<TlsaRecord> usable() {
            return records.stream().filter(TlsaRecord::usable).toList();
        }

        /**
         * The names a DANE-TA(2) certificate may carry (RFC 7672 §3.2.2): the MX host name and, when different, the
         * TLSA base domain.
         */
        public List<String> referenceNames() {
            List<String> names = new ArrayList<>(List.of(mxHost));
            if (!tlsaBaseDomain.equals(mxHost)) {
                names.add(tlsaBaseDomain);
            }
            return List.copyOf(names);
        }

        /** Matches the server's certificate chain (as presented, leaf first) against the TLSA records. */
        public DaneMatch match(List<X509Certificate> chain, Instant now) {
            return DaneMatcher.match(records, chain, referenceNames(), now);
        }

        @Override
        public String describe() {
            return "DANE applies to " + mxHost + ": TLSA at " + tlsaBaseDomain + " " + records;
        }
    }

    /**
     * The DNSSEC look-ups needed to decide did not succeed: an answer was bogus, or the resolver failed or did not
     * answer (RFC 7672 §2.1.1). Delivery to this MX host must wait (a temporary failure), never fall back to less
     * security; the RFC 8460 result type is {@code dnssec-invalid}.
     */
    record Failed(String mxHost, String reason) implements DanePolicy {
        public TlsFailureType failureType() {
            return TlsFailureType.DNSSEC_INVALID;
        }

        @Override
        public String describe() {
            return "DANE look-up for " + mxHost + " failed: " + reason;
        }
    }
}
