package org.tlsrelay.core.queue;

import static org.tlsrelay.core.queue.SpoolFiles.BODY;
import static org.tlsrelay.core.queue.SpoolFiles.ENVELOPE;
import static org.tlsrelay.core.queue.SpoolFiles.TMP;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * What the relay does with its spool at start, before it accepts or delivers anything: the write protocol (see the
 * package documentation) leaves at most temp files, a body without its envelope (never acknowledged) or a message
 * half-moved between states after a crash; this puts each back in order and rebuilds the schedule.
 */
final class Recovery {
    private static final Logger LOG = LoggerFactory.getLogger(Spool.class);

    private Recovery() {}

    /**
     * Removes temp files, moves unreadable envelopes to {@code corrupt/}, makes {@code active/} messages due again,
     * removes bodies that were never acknowledged and schedules every message in {@code incoming/} and
     * {@code deferred/}.
     */
    static void recover(SpoolFiles files, SpoolSchedule schedule) throws IOException {
        // an interrupted queue drain: never deliver here what another relay took
        HandOverJournal.replay(files);
        int temps = 0;
        int orphans = 0;
        int corrupt = 0;
        int reactivated = 0;
        for (QueueState s : QueueState.values()) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(files.dir(s), "*" + TMP)) {
                for (Path p : ds) {
                    Files.deleteIfExists(p);
                    temps++;
                }
            }
        }
        Map<String, QueueState> envelopes = new HashMap<>();
        for (QueueState s : QueueState.values()) {
            for (String id : files.ids(s)) {
                QueueState earlier = envelopes.putIfAbsent(id, s);
                if (earlier != null) {
                    // Cannot happen with rename-only moves; if a hand copy made it happen, keep the
                    // first for the operator to sort out.
                    LOG.warn(
                            "queue {}: envelope in both {}/ and {}/; keeping {}/, moving the other to corrupt/",
                            id,
                            earlier.dirName(),
                            s.dirName(),
                            earlier.dirName());
                    SpoolFiles.move(
                            files.dir(s).resolve(id + ENVELOPE),
                            files.dir(QueueState.CORRUPT).resolve(id + ".dup" + ENVELOPE));
                }
            }
        }
        for (QueueState s : QueueState.values()) {
            for (Path body : files.files(s, BODY)) {
                String id = SpoolFiles.stem(body, BODY);
                QueueState owner = envelopes.get(id);
                if (owner == null) {
                    LOG.warn(
                            "queue {}: removing message content without an envelope (never acknowledged)",
                            id);
                    Files.deleteIfExists(body);
                    orphans++;
                } else if (owner != s) {
                    // an interrupted move: the envelope leads
                    SpoolFiles.move(body, files.dir(owner).resolve(id + BODY));
                }
            }
        }
        Instant now = files.options().clock().instant();
        for (Map.Entry<String, QueueState> e : envelopes.entrySet()) {
            String id = e.getKey();
            QueueState s = e.getValue();
            if (s == QueueState.CORRUPT) {
                continue;
            }
            Envelope env;
            try {
                env = files.read(s, id);
                if (!Files.exists(files.dir(s).resolve(id + BODY))) {
                    throw new IOException("its message content is missing");
                }
            } catch (IOException ex) {
                quarantine(files, schedule, s, id, ex);
                corrupt++;
                continue;
            }
            switch (s) {
                case ACTIVE -> {
                    files.moveMessage(id, QueueState.ACTIVE, QueueState.INCOMING);
                    schedule.schedule(id, now);
                    reactivated++;
                }
                case INCOMING, DEFERRED -> schedule.schedule(id, env.nextAttempt());
                default -> {}
            }
        }
        for (QueueState s : QueueState.values()) {
            files.syncDir(s);
        }
        LOG.info(
                "spool {}: {} message(s) scheduled, {} were in delivery at the last stop, {} temp file(s) and {} "
                        + "orphan(s) removed, {} moved to corrupt/",
                files.root(),
                schedule.size(),
                reactivated,
                temps,
                orphans,
                corrupt);
    }

    /** Moves a message whose envelope cannot be read to {@code corrupt/}, for the operator to look at. */
    static void quarantine(
            SpoolFiles files, Scheduling scheduling, QueueState from, String id, IOException why)
            throws IOException {
        MDC.put("queueId", id);
        try {
            LOG.error(
                    "queue {}: unreadable envelope in {}/ moved to corrupt/: {}",
                    id,
                    from.dirName(),
                    why.getMessage());
        } finally {
            MDC.remove("queueId");
        }
        files.moveMessage(id, from, QueueState.CORRUPT);
        scheduling.unschedule(id);
    }
}
