package org.tlsrelay.core.dkim;

import java.io.IOException;
import java.io.OutputStream;
import org.tlsrelay.core.queue.Spool;

/**
 * Signs a message while it is received, so that the spool holds the signed message before the 250 is sent (the
 * inbound server calls it; {@link DkimSigner#relayed()} makes the signing one).
 */
public interface AcceptSigner {

    /** Starts one message that goes into {@code reception}. */
    Pass begin(Spool.Reception reception);

    /** One message being received. */
    interface Pass {
        /** Where the message content goes instead of {@link Spool.Reception#body()}. */
        OutputStream content();

        /**
         * The content is complete and about to be committed: writes the signatures into the queued message. An
         * exception means the message must not be committed (the client is told to try again).
         */
        void finish() throws IOException;
    }

    /** Signs nothing: the content goes straight to the spool. */
    static AcceptSigner none() {
        return reception ->
                new Pass() {
                    @Override
                    public OutputStream content() {
                        return reception.body();
                    }

                    @Override
                    public void finish() {}
                };
    }
}
