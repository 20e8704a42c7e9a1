package org.tlsrelay.core.dkim;

/**
 * Why a message that should be signed cannot be: it is then sent unsigned, counted under {@link #label()} and logged
 * with its queue id.
 */
public enum Unsignable {
    NO_FROM("no-from", "it has no From: header field"),
    SEVERAL_FROM("several-from", "it has more than one From: header field"),
    SEVERAL_AUTHORS("several-authors", "its From: names more than one mailbox"),
    FROM_WITHOUT_DOMAIN("from-without-domain", "its From: has no domain name to sign for"),
    MALFORMED_HEADER("malformed-header", "its header section is malformed"),
    HEADER_TOO_LARGE("header-too-large", "its header section is larger than the signer reads"),
    ERROR("error", "signing failed");

    private final String label;
    private final String why;

    Unsignable(String label, String why) {
        this.label = label;
        this.why = why;
    }

    /** The metric label, e.g. {@code no-from}. */
    public String label() {
        return label;
    }

    /** For logs: completes "not DKIM-signed: ...". */
    public String why() {
        return why;
    }
}
