package org.tlsrelay.core.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class XTextTest {
    @Test
    void decodesEscapesAndRoundTrips() {
        assertEquals("rfc822;a+b=c@example.com", XText.decode("rfc822;a+2Bb+3Dc@example.com"));
        assertEquals("rfc822;a+2Bb+3Dc@example.com", XText.encode("rfc822;a+b=c@example.com"));
        assertEquals("ünï", XText.decode(XText.encode("ünï")));
    }

    @Test
    void refusesWhatXtextDoesNotAllow() {
        assertThrows(IllegalArgumentException.class, () -> XText.decode("a b"));
        assertThrows(IllegalArgumentException.class, () -> XText.decode("a=b"));
        assertThrows(IllegalArgumentException.class, () -> XText.decode("ab+2"));
        assertThrows(IllegalArgumentException.class, () -> XText.decode("ab+ZZ"));
    }
}
