package org.tlsrelay.smtp.outbound;

import java.io.IOException;

/** The connection broke: closed by the MX, timed out, or broke the protocol. Ends the attempt at its stage. */
final class SmtpSessionException extends IOException {
    SmtpSessionException(String message) {
        super(message);
    }

    SmtpSessionException(String message, Throwable cause) {
        super(message, cause);
    }
}
