package org.tlsrelay.core.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code spool.min-free} and the free-space reading behind 452 4.3.1, {@code /health} and the gauge. */
class FreeSpaceTest {
    static final long MB = 1L << 20;

    final AtomicLong usable = new AtomicLong(500 * MB);
    final AtomicLong now = new AtomicLong();
    final AtomicInteger asked = new AtomicInteger();

    FreeSpace space(SpaceReserve reserve) {
        return new FreeSpace(
                () -> {
                    asked.incrementAndGet();
                    return new FreeSpace.Sample(usable.get(), 1000 * MB);
                },
                reserve,
                Duration.ofSeconds(1),
                now::get,
                "/var/lib/tlsrelay/spool");
    }

    @ParameterizedTest
    @CsvSource({
        "100MB, 104857600",
        "512KB, 524288",
        "1048576, 1048576",
        "0, 0",
        "2gb, 2147483648",
        "5%, 52428800",
        "2.5 %, 26214400",
        "100%, 1048576000",
    })
    void aReserveIsASizeOrAShareOfTheFileSystem(String text, long bytesOf1000MB) {
        assertEquals(bytesOf1000MB, SpaceReserve.parse(text).bytesOf(1000 * MB));
    }

    @ParameterizedTest
    @CsvSource({"5x", "-1MB", "101%", "%", "''", "1.2.3%"})
    void anythingElseIsRefusedWithAnExample(String text) {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> SpaceReserve.parse(text));
        assertTrue(
                e.getMessage().contains("e.g. 100MB, 5%") || e.getMessage().contains("%"),
                e.getMessage());
    }

    @Test
    void mailFitsWhileTheReserveIsLeftAfterIt() {
        FreeSpace s = space(SpaceReserve.parse("100MB"));
        assertTrue(s.admits(0));
        assertTrue(s.admits(400 * MB));
        assertFalse(s.admits(400 * MB + 1), "the declared size would eat into the reserve");
        assertEquals(Optional.empty(), s.shortage());
        assertEquals(OptionalLong.of(500 * MB), s.freeBytes());
    }

    @Test
    void theFileSystemIsAskedAtMostOnceASecond() {
        FreeSpace s = space(SpaceReserve.parse("100MB"));
        for (int i = 0; i < 1000; i++) {
            s.admits(0);
        }
        assertEquals(1, asked.get());
        usable.set(50 * MB);
        now.addAndGet(999_000_000L);
        assertTrue(s.admits(0), "the last reading, still fresh");
        now.addAndGet(1_000_000L);
        assertFalse(s.admits(0), "read again after a second");
        assertEquals(2, asked.get());
        assertEquals(
                Optional.of(
                        "50MB free on the file system of /var/lib/tlsrelay/spool, below spool.min-free"
                                + " (100MB): new mail is refused with 452 4.3.1 until space is freed"),
                s.shortage());
    }

    @Test
    void aPercentageIsOfTheFileSystemsSize() {
        usable.set(40 * MB);
        FreeSpace s = space(SpaceReserve.parse("5%"));
        assertFalse(s.admits(0));
        assertTrue(s.shortage().orElseThrow().contains("below spool.min-free (5% = 50MB)"));
        usable.set(60 * MB);
        now.addAndGet(2_000_000_000L);
        assertTrue(s.admits(0));
    }

    @Test
    void aFileSystemThatCannotBeReadDoesNotStopMailButIsReported() {
        FreeSpace s =
                new FreeSpace(
                        () -> {
                            throw new IOException("No such device");
                        },
                        SpaceReserve.DEFAULT,
                        Duration.ofSeconds(1),
                        now::get,
                        "/var/lib/tlsrelay/spool");
        assertTrue(s.admits(10 * MB), "the spool's own writes fail if it is really gone");
        assertEquals(OptionalLong.empty(), s.freeBytes());
        assertTrue(s.shortage().orElseThrow().startsWith("cannot read the free space of"));
    }

    @Test
    void readsTheRealFileSystem(@TempDir Path dir) throws IOException {
        FreeSpace s = FreeSpace.of(dir, SpaceReserve.NONE);
        assertTrue(s.freeBytes().orElseThrow() > 0);
        assertTrue(s.admits(0));
        FreeSpace all = FreeSpace.of(dir, SpaceReserve.parse("100%"));
        assertFalse(all.admits(0), "nothing is free once the whole file system is kept back");
    }
}
