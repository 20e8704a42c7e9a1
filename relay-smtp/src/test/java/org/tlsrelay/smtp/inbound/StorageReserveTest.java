package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.queue.FreeSpace;
import org.tlsrelay.core.queue.SpaceReserve;
import org.tlsrelay.testkit.Await;

/**
 * Issue 11 §1: while the spool's file system is below {@code spool.min-free}, new mail is refused with
 * {@code 452 4.3.1 Insufficient system storage} at MAIL FROM (and a {@code SIZE=} that would take it below), before
 * the client sends any body; mail is taken again once space is back.
 */
class StorageReserveTest {
    static final String REFUSED = "452 4.3.1 Insufficient system storage";
    static final long MB = 1L << 20;

    @TempDir Path dir;

    @Test
    void mailIsRefusedAtMailFromWhileTheReserveIsMissingAndTakenAgainAfter() throws Exception {
        AtomicLong usable = new AtomicLong(50 * MB);
        try (InboundFixture f =
                        InboundFixture.builder()
                                .maxSize("100MB")
                                .space(
                                        d ->
                                                new FreeSpace(
                                                        () ->
                                                                new FreeSpace.Sample(
                                                                        usable.get(), 1000 * MB),
                                                        SpaceReserve.parse("100MB"),
                                                        Duration.ZERO,
                                                        System::nanoTime,
                                                        d.toString()))
                                .start(dir);
                RawSmtpClient c = f.ehlo()) {
            assertEquals(REFUSED, c.command("MAIL FROM:<a@example.org>").last());
            assertEquals(503, c.command("RCPT TO:<b@example.com>").code(), "no transaction");
            assertEquals(503, c.command("DATA").code(), "no body is ever asked for");

            usable.set(150 * MB);
            assertEquals(
                    REFUSED,
                    c.command("MAIL FROM:<a@example.org> SIZE=" + 60 * MB).last(),
                    "a declared size that would eat into the reserve");
            assertEquals(
                    250,
                    c.sendMessage(
                                    "a@example.org",
                                    List.of("b@example.com"),
                                    "Subject: back\r\n\r\n")
                            .code());
            assertEquals(1, f.spool.list().size());
        }
    }

    /** The same on a real 8 MB tmpfs (mounted by the test; needs root and a kernel that lets it mount). */
    @Test
    void onARealSmallFileSystemMailWaitsBeforeDataAndFlowsAgainWhenSpaceIsFreed() throws Exception {
        Path mount = dir.resolve("tmpfs");
        Files.createDirectories(mount);
        assumeTrue(
                run("mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", mount.toString()),
                "cannot mount a tmpfs here (not root, or no mount permission in this container)");
        try {
            try (InboundFixture f =
                            InboundFixture.builder()
                                    .maxSize("4MB")
                                    .spoolDir(mount.resolve("spool"))
                                    .space(
                                            d ->
                                                    InboundFixture.freeSpace(
                                                            d, SpaceReserve.parse("3MB")))
                                    .start(dir);
                    RawSmtpClient c = f.ehlo()) {
                assertEquals(
                        250,
                        c.command("MAIL FROM:<a@example.org> SIZE=" + 2 * MB).code(),
                        "8 MB free, 3 MB kept back: 2 MB fit");
                assertEquals(250, c.command("RSET").code());

                Path filler = mount.resolve("filler");
                try (OutputStream o = Files.newOutputStream(filler)) {
                    o.write(new byte[(int) (6 * MB)]);
                }
                // The free space is read at most once a second: wait for the new reading.
                Await.until(
                        () -> refusedAtMailFrom(c),
                        Duration.ofSeconds(10),
                        "452 at MAIL FROM with 2 MB left");
                assertEquals(503, c.command("DATA").code(), "no body is ever asked for");
                assertEquals(List.of(), f.spool.list());

                Files.delete(filler);
                Await.until(
                        () -> !refusedAtMailFrom(c),
                        Duration.ofSeconds(10),
                        "MAIL FROM taken again once space is back");
                assertEquals(250, c.command("RSET").code());
                assertEquals(
                        250,
                        c.sendMessage(
                                        "a@example.org",
                                        List.of("b@example.com"),
                                        "Subject: space again\r\n\r\n")
                                .code());
                assertEquals(1, f.spool.list().size());
            }
        } finally {
            run("umount", mount.toString());
        }
    }

    private static boolean refusedAtMailFrom(RawSmtpClient c) {
        try {
            RawSmtpClient.Reply r = c.command("MAIL FROM:<a@example.org>");
            if (r.code() == 250) {
                c.command("RSET");
                return false;
            }
            assertEquals(REFUSED, r.last());
            return true;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static boolean run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
    }
}
