package org.tlsrelay.smtp.outbound;

import java.io.IOException;

/**
 * The connection broke: closed by the MX, timed out, cut by the relay, or broke the protocol. Ends the attempt at its
 * stage.
 */
final class SmtpSessionException extends IOException {
    /** Why a connection broke, where it matters to what happens next. */
    enum Cause {
        /** The MX closed it, refused it, or answered what cannot go on. */
        OTHER,
        /** No answer within the time limit: a connect or reply timeout (the circuit breaker counts these). */
        TIMEOUT,
        /** The relay itself closed it (shutdown after the grace period), not the MX. */
        CUT
    }

    private final Cause cause;

    SmtpSessionException(String message) {
        this(message, Cause.OTHER, null);
    }

    SmtpSessionException(String message, Throwable cause) {
        this(message, Cause.OTHER, cause);
    }

    SmtpSessionException(String message, Cause why, Throwable cause) {
        super(message, cause);
        this.cause = why;
    }

    Cause why() {
        return cause;
    }
}
