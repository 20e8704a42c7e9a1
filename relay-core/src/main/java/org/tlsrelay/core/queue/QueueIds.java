package org.tlsrelay.core.queue;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

/**
 * Queue ids: the arrival time in microseconds then a per-process counter, both base 32 ({@code 0-9a-v}), 14
 * characters, e.g. {@code 1jb7q8k3l4m0a9}. They sort by arrival, are safe as file names, and the spool refuses
 * to overwrite an existing file, so a clash after a clock step is retried rather than lost.
 */
final class QueueIds {
    private static final Pattern FORM = Pattern.compile("[0-9a-v]{14}");
    private static final AtomicInteger COUNTER =
            new AtomicInteger(java.util.concurrent.ThreadLocalRandom.current().nextInt());

    private QueueIds() {}

    static String next(Instant now) {
        long micros =
                Math.addExact(
                        Math.multiplyExact(now.getEpochSecond(), 1_000_000L), now.getNano() / 1000);
        String time = pad(Long.toString(micros, 32), 11);
        String seq = pad(Integer.toString(COUNTER.getAndIncrement() & 0x7FFF, 32), 3);
        return time + seq;
    }

    /** Whether {@code text} has the form of a queue id; anything else is never turned into a path. */
    static boolean valid(String text) {
        return FORM.matcher(text).matches();
    }

    /** The arrival time a valid id starts with (to the microsecond). */
    static Instant arrival(String id) {
        long micros = Long.parseLong(id.substring(0, 11), 32);
        return Instant.ofEpochSecond(
                Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000L);
    }

    private static String pad(String s, int width) {
        if (s.length() >= width) {
            return s.substring(s.length() - width);
        }
        return "0".repeat(width - s.length()) + s;
    }
}
