package org.tlsrelay.core.log;

import java.nio.file.FileSystemException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.event.Level;

/**
 * One log line per cause and period, with a count of the lines it held back: for errors that every message or every
 * attempt would otherwise repeat while one fault lasts (seen: 100,000 lines of {@code No space left on device} in 45
 * s). The first occurrence of a cause is logged at once; further ones within the period are counted; the first one
 * after the period is logged with that count ({@code (37 more like it since 2025-01-01T10:00:00Z)}) and starts a new
 * period. Thread-safe. Pass messages, not exceptions: an expected fault needs no stack trace.
 */
public final class RateLimitedLog {
    /** Causes remembered at most; beyond that the oldest periods are forgotten (a cause is a short text). */
    private static final int MAX_CAUSES = 256;

    private final Logger log;
    private final Duration period;
    private final Clock clock;
    private final Map<String, Window> windows = new ConcurrentHashMap<>();

    /** A cause's current period: when it started and how many lines it held back since. */
    private static final class Window {
        Instant start;
        long held;

        Window(Instant start) {
            this.start = start;
        }
    }

    /**
     * @param log where the lines go
     * @param period one line per cause per this much time (a minute is what operators expect)
     * @param clock the time source (tests move it by hand)
     */
    public RateLimitedLog(Logger log, Duration period, Clock clock) {
        this.log = Objects.requireNonNull(log, "log");
        this.period = Objects.requireNonNull(period, "period");
        this.clock = Objects.requireNonNull(clock, "clock");
        if (period.isNegative() || period.isZero()) {
            throw new IllegalArgumentException("the period must be positive");
        }
    }

    /** One line per cause per minute. */
    public static RateLimitedLog perMinute(Logger log) {
        return new RateLimitedLog(log, Duration.ofMinutes(1), Clock.systemUTC());
    }

    /** As {@link #log} at WARN. */
    public boolean warn(String cause, String format, Object... args) {
        return log(Level.WARN, cause, format, args);
    }

    /** As {@link #log} at ERROR. */
    public boolean error(String cause, String format, Object... args) {
        return log(Level.ERROR, cause, format, args);
    }

    /**
     * Logs {@code format} with {@code args} (SLF4J placeholders) unless a line of the same {@code cause} was logged
     * within the period; returns whether it logged.
     *
     * @param cause what the lines have in common, e.g. {@link #cause(Throwable)} of the error: not the queue id or
     *     the file name, which differ from line to line
     */
    public boolean log(Level level, String cause, String format, Object... args) {
        Instant now = clock.instant();
        long held;
        Instant since;
        Window w = windows.computeIfAbsent(cause, c -> new Window(Instant.MIN));
        synchronized (w) {
            if (w.start != Instant.MIN && now.isBefore(w.start.plus(period))) {
                w.held++;
                return false;
            }
            held = w.held;
            since = w.start;
            w.start = now;
            w.held = 0;
        }
        if (windows.size() > MAX_CAUSES) {
            forgetOld(now);
        }
        if (held == 0) {
            log.atLevel(level).log(format, args);
        } else {
            Object[] all = Arrays.copyOf(args, args.length + 2);
            all[args.length] = held;
            all[args.length + 1] = since;
            log.atLevel(level).log(format + " ({} more like it since {})", all);
        }
        return true;
    }

    private void forgetOld(Instant now) {
        windows.entrySet()
                .removeIf(
                        e -> {
                            synchronized (e.getValue()) {
                                return e.getValue().held == 0
                                        && !now.isBefore(e.getValue().start.plus(period));
                            }
                        });
    }

    /**
     * What an I/O error is about, without the file it happened to: {@code No space left on device} rather than
     * {@code /var/lib/tlsrelay/spool/incoming/1jb7q8k3l4m0a9.json.tmp: No space left on device}, so that one fault
     * is one cause whatever message it hits.
     */
    public static String cause(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        String m = root.getMessage();
        return m == null || m.isBlank() ? "I/O error" : m;
    }
}
