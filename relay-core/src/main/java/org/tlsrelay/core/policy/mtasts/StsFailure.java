package org.tlsrelay.core.policy.mtasts;

import org.tlsrelay.core.tls.TlsFailureType;

/**
 * Why a domain's MTA-STS policy could not be fetched or used: one of {@link TlsFailureType#STS_POLICY_FETCH_ERROR},
 * {@link TlsFailureType#STS_POLICY_INVALID}, {@link TlsFailureType#STS_WEBPKI_INVALID} (RFC 8460 §4.3.2.2), with
 * a human detail. TLS-RPT counts these per policy domain.
 */
public record StsFailure(TlsFailureType type, String detail) {
    public StsFailure {
        if (type != TlsFailureType.STS_POLICY_FETCH_ERROR
                && type != TlsFailureType.STS_POLICY_INVALID
                && type != TlsFailureType.STS_WEBPKI_INVALID) {
            throw new IllegalArgumentException(type + " is not an MTA-STS policy failure");
        }
    }

    @Override
    public String toString() {
        return type.resultType() + ": " + detail;
    }
}
