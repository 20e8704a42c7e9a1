package org.tlsrelay.smtp.handover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HandOverSessionTest {
    /** The other relay's reply goes into the log, the journal and the envelope: one printable line. */
    @Test
    void aReplyIsOnePrintableLine() {
        assertEquals(
                "250-relay.test 250 2.0.0 Ok: queued as X?[31m forged??",
                HandOverSession.oneLine(
                        "250-relay.test\r\n250 2.0.0 Ok: queued as X\u001b[31m forged\r\u0085\r\n"));
        String longReply = HandOverSession.oneLine("250 " + "x".repeat(2000));
        assertEquals(HandOverSession.MAX_REPLY + 3, longReply.length());
        assertTrue(longReply.endsWith("..."));
    }
}
