package org.tlsrelay.core.enforce;

/**
 * Receives every {@link TlsOutcome} (the TLS-RPT recorder, metrics). Called on a network thread: an implementation
 * must return quickly and never block (queue the event and write it elsewhere).
 */
@FunctionalInterface
public interface TlsOutcomeListener {

    void record(TlsOutcome outcome);

    /** A listener that drops every outcome. */
    static TlsOutcomeListener none() {
        return outcome -> {};
    }
}
