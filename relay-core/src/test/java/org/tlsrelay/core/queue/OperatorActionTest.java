package org.tlsrelay.core.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A notice carries the whole action in its file name, whatever characters the user's name has. */
class OperatorActionTest {
    @TempDir Path dir;

    @Test
    void aNoticeNameSaysEverythingAndReadsBack() throws Exception {
        Instant t = Instant.parse("2026-12-06T10:00:00.123Z");
        for (OperatorAction a :
                List.of(
                        new OperatorAction(
                                t,
                                OperatorAction.Action.HOLD,
                                "1j1v7tv5ks0lsh",
                                "deferred",
                                "alice"),
                        new OperatorAction(
                                t,
                                OperatorAction.Action.FLUSH,
                                "",
                                "12",
                                "tlsrelay (sudo from j.doe-ü%.x)"))) {
            a.leaveNotice(dir);
        }
        try (var files = Files.list(dir)) {
            List<Optional<OperatorAction>> read =
                    files.map(p -> OperatorAction.ofNotice(p.getFileName().toString()))
                            .sorted(
                                    (x, y) ->
                                            x.orElseThrow()
                                                    .action()
                                                    .compareTo(y.orElseThrow().action()))
                            .toList();
            assertEquals("alice", read.get(0).orElseThrow().user());
            assertEquals("1j1v7tv5ks0lsh", read.get(0).orElseThrow().id());
            assertEquals(t, read.get(0).orElseThrow().time());
            assertEquals("tlsrelay (sudo from j.doe-ü%.x)", read.get(1).orElseThrow().user());
            assertEquals("", read.get(1).orElseThrow().id());
            assertEquals("12", read.get(1).orElseThrow().detail());
        }
        OperatorAction.drainNotices(dir, t);
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count(), "told and removed");
        }
    }

    @Test
    void otherNamesAreNoNotices() {
        assertTrue(OperatorAction.ofNotice("wakeup").isEmpty());
        assertTrue(OperatorAction.ofNotice("notice.x.y").isEmpty());
        assertTrue(OperatorAction.ofNotice("notice.1.2.explode.-.-.root").isEmpty());
    }
}
