package org.tlsrelay.core.dkim;

/** A DKIM key file cannot be used; the message names the file, what is wrong and what to do. */
public final class InvalidKeyFileException extends Exception {
    private static final long serialVersionUID = 1L;

    public InvalidKeyFileException(String message) {
        super(message);
    }
}
