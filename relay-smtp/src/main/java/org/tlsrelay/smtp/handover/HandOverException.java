package org.tlsrelay.smtp.handover;

/**
 * The other relay cannot be used at all (no connection, no STARTTLS where it is required, a certificate that fails,
 * AUTH refused): the message says what is wrong and what to do. Nothing was handed over on that connection.
 */
public final class HandOverException extends Exception {
    private static final long serialVersionUID = 1L;

    public HandOverException(String message) {
        super(message);
    }
}
