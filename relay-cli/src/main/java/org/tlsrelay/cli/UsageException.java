package org.tlsrelay.cli;

/** A command was given arguments it cannot use; reported as one line, exit status 2. */
public final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
        super(message);
    }
}
