package org.tlsrelay.core.policy.mtasts;

import org.tlsrelay.core.tls.TlsFailureType;

/** The outcome of one policy fetch: the body of a 200 text/plain answer, or why there is none. */
public sealed interface FetchResult {

    String url();

    /** The body as received (at most {@link PolicyParser#MAX_BYTES}); it is not parsed yet. */
    record Fetched(String url, byte[] body) implements FetchResult {
        public Fetched {
            body = body.clone();
        }

        @Override
        public byte[] body() {
            return body.clone();
        }
    }

    /**
     * No policy body: {@code type} is {@link TlsFailureType#STS_POLICY_FETCH_ERROR} (no address, connection,
     * timeout, HTTP status, content type, size) or {@link TlsFailureType#STS_WEBPKI_INVALID} (certificate not valid
     * for {@code mta-sts.DOMAIN}, RFC 8461 §3.3).
     */
    record Failed(String url, TlsFailureType type, String detail) implements FetchResult {}
}
