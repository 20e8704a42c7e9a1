package org.tlsrelay.core.policy.list;

/** A list could not be signed: unusable key, wrong or missing passphrase. */
public final class ListSigningException extends Exception {
    private static final long serialVersionUID = 1L;

    public ListSigningException(String message) {
        super(message);
    }

    public ListSigningException(String message, Throwable cause) {
        super(message, cause);
    }
}
