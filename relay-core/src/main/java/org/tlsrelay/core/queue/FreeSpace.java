package org.tlsrelay.core.queue;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.io.Problems;

/**
 * The free space on the spool's file system, against the reserve of {@code spool.min-free}. The inbound server asks
 * it at every MAIL FROM (new mail is refused with {@code 452 4.3.1} while the reserve is not there, before any body is
 * sent), {@code /health} and the {@code tlsrelay_spool_free_bytes} gauge ask it too: the file system itself
 * ({@code statvfs}) is asked at most once per refresh interval, however many ask, and by one caller at a time while
 * the others use the last reading. Changes between enough and too little space are logged once each.
 */
public final class FreeSpace {
    private static final Logger LOG = LoggerFactory.getLogger(FreeSpace.class);

    /** What the file system says: bytes this process may still use, and its size. */
    public record Sample(long usable, long total) {}

    /** Where the numbers come from: the spool's file system, or a test's stand-in. */
    @FunctionalInterface
    public interface Probe {
        Sample measure() throws IOException;
    }

    /** One reading: the sample, or why there is none. */
    private record Reading(long at, Optional<Sample> sample, String error) {}

    private final Probe probe;
    private final SpaceReserve reserve;
    private final long maxAgeNanos;
    private final LongSupplier nanoTime;
    private final String where;
    private final AtomicBoolean refreshing = new AtomicBoolean();
    private volatile Reading last;
    private boolean refusing; // guarded by this

    /**
     * @param where names the file system in messages, e.g. the spool directory
     * @param maxAge how old a reading may be before the file system is asked again
     */
    public FreeSpace(
            Probe probe,
            SpaceReserve reserve,
            Duration maxAge,
            LongSupplier nanoTime,
            String where) {
        this.probe = Objects.requireNonNull(probe, "probe");
        this.reserve = Objects.requireNonNull(reserve, "reserve");
        this.maxAgeNanos = maxAge.toNanos();
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        this.where = where;
    }

    /** The file system that holds {@code dir}, read at most once a second. */
    public static FreeSpace of(Path dir, SpaceReserve reserve) throws IOException {
        FileStore store = Files.getFileStore(dir);
        return new FreeSpace(
                () -> new Sample(store.getUsableSpace(), store.getTotalSpace()),
                reserve,
                Duration.ofSeconds(1),
                System::nanoTime,
                dir.toString());
    }

    public SpaceReserve reserve() {
        return reserve;
    }

    /** The bytes still usable on the file system, as last read; empty when it cannot be read. */
    public OptionalLong freeBytes() {
        return reading()
                .sample()
                .map(s -> OptionalLong.of(s.usable()))
                .orElse(OptionalLong.empty());
    }

    /**
     * Whether a message of {@code size} bytes (0 when not declared) fits and leaves the reserve. When the file system
     * cannot be read, yes: the spool's own writes fail with a temporary error if it really is gone.
     */
    public boolean admits(long size) {
        Optional<Sample> s = reading().sample();
        if (s.isEmpty()) {
            return true;
        }
        long need = reserve.bytesOf(s.get().total());
        return s.get().usable() - Math.max(0, size) >= need;
    }

    /** Why new mail is refused (for {@code /health}), or empty while the reserve is there. */
    public Optional<String> shortage() {
        return describe(reading());
    }

    private Optional<String> describe(Reading r) {
        if (r.sample().isEmpty()) {
            return Optional.of(
                    "cannot read the free space of "
                            + where
                            + ": "
                            + r.error()
                            + "; check that the spool's file system is mounted");
        }
        Sample s = r.sample().get();
        long need = reserve.bytesOf(s.total());
        if (s.usable() >= need) {
            return Optional.empty();
        }
        return Optional.of(
                SpaceReserve.size(s.usable())
                        + " free on the file system of "
                        + where
                        + ", below spool.min-free ("
                        + reserve
                        + (reserve instanceof SpaceReserve.Percent
                                ? " = " + SpaceReserve.size(need)
                                : "")
                        + "): new mail is refused with 452 4.3.1 until space is freed");
    }

    private Reading reading() {
        Reading r = last;
        long now = nanoTime.getAsLong();
        if (r != null && now - r.at() < maxAgeNanos) {
            return r;
        }
        // One caller refreshes; the others keep the previous reading meanwhile.
        if (r != null && !refreshing.compareAndSet(false, true)) {
            return r;
        }
        try {
            Reading fresh;
            try {
                fresh = new Reading(now, Optional.of(probe.measure()), "");
            } catch (IOException | RuntimeException e) {
                fresh = new Reading(now, Optional.empty(), Problems.describe(e));
            }
            last = fresh;
            noteChange(fresh);
            return fresh;
        } finally {
            refreshing.set(false);
        }
    }

    /** One line when the reserve goes missing (or cannot be read), one when it is back. */
    private synchronized void noteChange(Reading r) {
        Optional<String> problem = describe(r);
        if (problem.isPresent() != refusing) {
            refusing = problem.isPresent();
            if (refusing) {
                LOG.warn("spool: {}", problem.get());
            } else {
                LOG.info(
                        "spool: {} free on the file system of {} again; accepting mail",
                        SpaceReserve.size(r.sample().orElseThrow().usable()),
                        where);
            }
        }
    }
}
