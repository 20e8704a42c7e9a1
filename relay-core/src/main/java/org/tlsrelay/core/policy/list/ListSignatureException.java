package org.tlsrelay.core.policy.list;

import java.util.Locale;

/** A detached signature that does not make a list usable, and why. */
public final class ListSignatureException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Why a signature is not accepted; the CLI prints the label. */
    public enum Reason {
        /** Made by the configured key (or one of its subkeys) but does not verify: data changed, key not valid. */
        BAD_SIGNATURE,
        /** Made by a key that is not in the configured key ring. */
        UNKNOWN_KEY,
        /** Not a detached OpenPGP signature (or key) at all. */
        MALFORMED;

        /** {@code bad signature}, {@code unknown key}, {@code malformed}. */
        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', ' ');
        }
    }

    private final Reason reason;

    public ListSignatureException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public ListSignatureException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    /** {@code bad signature: the data does not match ...}. */
    @Override
    public String toString() {
        return reason.label() + ": " + getMessage();
    }
}
