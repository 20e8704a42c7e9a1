package org.tlsrelay.smtp.outbound;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.tlsrelay.testkit.MutableClock;

class HostBreakersTest {
    private final MutableClock clock = MutableClock.atFixedStart();
    private final HostBreakers breakers =
            new HostBreakers(
                    Duration.ofMinutes(1), Duration.ofMinutes(4), Duration.ofMinutes(6), clock);
    private final InetAddress host = InetAddress.getLoopbackAddress();

    @Test
    void aTimeoutRestsTheHostThenOneProbeGoesAndAnotherTimeoutDoublesTheRest() {
        assertTrue(breakers.check(host).isEmpty(), "closed at first");
        assertTrue(breakers.timedOut(host, "mx.test", "no reply to the greeting within PT5M"));
        assertFalse(
                breakers.timedOut(host, "mx.test", "no reply to the greeting within PT5M"),
                "the rest of the same burst changes nothing");
        String why = breakers.check(host).orElseThrow();
        assertTrue(why.contains("no reply to the greeting") && why.contains("00:01:00Z"), why);

        clock.advance(Duration.ofMinutes(1));
        assertTrue(breakers.check(host).isEmpty(), "the probe goes");
        assertTrue(
                breakers.check(host).orElseThrow().contains("a probe is under way"),
                "only one probe");
        breakers.timedOut(host, "mx.test", "no reply to the greeting within PT5M");
        clock.advance(Duration.ofMinutes(1));
        assertTrue(breakers.check(host).isPresent(), "rests twice as long after a failed probe");
        clock.advance(Duration.ofMinutes(1));
        assertTrue(breakers.check(host).isEmpty(), "the next probe");
        breakers.answered(host, "mx.test");
        assertTrue(breakers.check(host).isEmpty());
        assertTrue(breakers.check(host).isEmpty(), "closed: no probe limit any more");
    }

    @Test
    void aProbeThatNeverEndsLetsTheNextOneGo() {
        breakers.timedOut(host, "mx.test", "cannot connect: connection timed out");
        clock.advance(Duration.ofMinutes(1));
        assertTrue(breakers.check(host).isEmpty(), "the probe");
        clock.advance(Duration.ofMinutes(6));
        assertTrue(breakers.check(host).isEmpty(), "another probe after the probe limit");
    }

    @Test
    void offWithAZeroBackoff() {
        HostBreakers off =
                new HostBreakers(Duration.ZERO, Duration.ZERO, Duration.ofMinutes(6), clock);
        assertFalse(off.timedOut(host, "mx.test", "timeout"));
        assertTrue(off.check(host).isEmpty());
    }
}
