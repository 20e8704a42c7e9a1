package org.tlsrelay.core.tls;

/**
 * The RFC 8460 result of one session: success, or one failure type with a human detail. This is what a TLS-RPT
 * report counts, whatever the policy mode made of it.
 */
public sealed interface TlsResult {

    record Success() implements TlsResult {
        @Override
        public String describe() {
            return "success";
        }
    }

    record Failure(TlsFailureType type, String detail) implements TlsResult {
        @Override
        public String describe() {
            return type.resultType() + " (" + detail + ")";
        }
    }

    String describe();

    static TlsResult success() {
        return new Success();
    }

    static TlsResult failure(TlsFailureType type, String detail) {
        return new Failure(type, detail);
    }
}
