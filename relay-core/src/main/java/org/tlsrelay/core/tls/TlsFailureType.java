package org.tlsrelay.core.tls;

import java.util.Optional;

/**
 * Why a TLS session (or the policy behind it) failed. Each constant maps one to one to an RFC 8460 §4.3
 * {@code result-type} string; that mapping lives here and nowhere else.
 */
public enum TlsFailureType {
    // RFC 8460 §4.3.1 negotiation failures
    STARTTLS_NOT_SUPPORTED("starttls-not-supported"),
    CERTIFICATE_HOST_MISMATCH("certificate-host-mismatch"),
    CERTIFICATE_EXPIRED("certificate-expired"),
    CERTIFICATE_NOT_TRUSTED("certificate-not-trusted"),
    VALIDATION_FAILURE("validation-failure"),
    // RFC 8460 §4.3.2 policy failures (DANE)
    TLSA_INVALID("tlsa-invalid"),
    DNSSEC_INVALID("dnssec-invalid"),
    DANE_REQUIRED("dane-required"),
    // RFC 8460 §4.3.2 policy failures (MTA-STS)
    STS_POLICY_FETCH_ERROR("sts-policy-fetch-error"),
    STS_POLICY_INVALID("sts-policy-invalid"),
    STS_WEBPKI_INVALID("sts-webpki-invalid");

    private final String resultType;

    TlsFailureType(String resultType) {
        this.resultType = resultType;
    }

    /** The RFC 8460 {@code result-type} string. */
    public String resultType() {
        return resultType;
    }

    public static Optional<TlsFailureType> ofResultType(String text) {
        for (TlsFailureType t : values()) {
            if (t.resultType.equals(text)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
