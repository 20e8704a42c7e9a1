package org.tlsrelay.core.queue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.io.PrivateFiles;
import org.tlsrelay.core.log.LogFields;

/**
 * The drain's record of what another relay took ({@code SPOOL/handover.journal}): one JSON line per message, appended
 * and fsynced right after the other relay's 250 and before the message is removed here. A drain or a relay that starts
 * after a crash between the two applies every record whose message is still here (its recipients count as delivered,
 * and a message with none left pending is removed), so a message the other relay took is never sent twice.
 *
 * <p>What remains is the window RFC 1047 describes: between the other relay's 250 and this record on disk (the time of
 * one append and one fsync) a crash leaves the message here, and it is handed over again. A torn last line, written
 * when the crash came during the append, is that case and is ignored.
 */
final class HandOverJournal {
    private static final Logger LOG = LoggerFactory.getLogger(Spool.class);
    static final String FILE = "handover.journal";
    private static final ObjectMapper JSON = EnvelopeCodec.mapper();

    /**
     * One message handed over.
     *
     * @param id the queue id here
     * @param recipients the recipients the other relay accepted
     * @param target where it went ({@code host:port})
     * @param reply the other relay's reply to the end of data, e.g. {@code 250 2.0.0 Ok: queued as 1j1...}
     * @param time when the reply came
     */
    record Entry(String id, List<String> recipients, String target, String reply, Instant time) {
        Entry {
            Objects.requireNonNull(id, "id");
            recipients = List.copyOf(recipients);
            Objects.requireNonNull(target, "target");
            Objects.requireNonNull(reply, "reply");
            Objects.requireNonNull(time, "time");
        }

        /** What the envelope keeps as the accepted recipients' last reply. */
        String lastReply() {
            return "handed over to " + target + ": " + reply;
        }
    }

    private HandOverJournal() {}

    /** Appends {@code e} and fsyncs the file before returning: from then on, the hand-over survives a crash. */
    static void append(Path root, Entry e, boolean fsync) throws IOException {
        byte[] line = (JSON.writeValueAsString(e) + "\n").getBytes(StandardCharsets.UTF_8);
        Path file = root.resolve(FILE);
        boolean created = !Files.exists(file);
        try (FileChannel ch =
                PrivateFiles.open(
                        file,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE,
                        StandardOpenOption.APPEND)) {
            ByteBuffer buf = ByteBuffer.wrap(line);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            if (fsync) {
                ch.force(true);
            }
        }
        if (created && fsync) {
            PrivateFiles.syncDirectory(root);
        }
    }

    /** Every complete record, in the order written; a line that does not parse (a torn last append) is skipped. */
    static List<Entry> read(Path root) throws IOException {
        Path file = root.resolve(FILE);
        List<Entry> out = new ArrayList<>();
        if (!Files.exists(file)) {
            return out;
        }
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            try {
                out.add(JSON.readValue(line, Entry.class));
            } catch (IOException | IllegalArgumentException e) {
                LOG.warn(
                        "{}: skipping an incomplete line (a drain stopped while writing it): {}",
                        file,
                        line.length() > 80 ? line.substring(0, 80) + "..." : line);
            }
        }
        return out;
    }

    /**
     * Applies every record to the spool (under each message's lock) and removes the journal: a message whose
     * recipients are all done is removed, else the accepted ones count as delivered. Returns how many messages
     * changed.
     */
    static int replay(SpoolFiles files) throws IOException {
        List<Entry> entries = read(files.root());
        int changed = 0;
        for (Entry e : entries) {
            if (apply(files, e) != Applied.NOTHING) {
                changed++;
                try (LogFields f = LogFields.of("queueId", e.id())) {
                    LOG.info(
                            "{}: applied the hand-over to {} recorded by an interrupted drain ({})",
                            e.id(),
                            e.target(),
                            e.reply());
                }
            }
        }
        forget(files);
        return changed;
    }

    /**
     * Removes the journal once every record in it is applied: first the removals are made durable (one fsync per state
     * directory for all of them), then the journal goes.
     */
    static void forget(SpoolFiles files) throws IOException {
        Path file = files.root().resolve(FILE);
        if (!Files.exists(file)) {
            return;
        }
        for (QueueState s : QueueState.values()) {
            files.syncDir(s);
        }
        Files.delete(file);
    }

    /** What applying a record did to its message. */
    enum Applied {
        /** The message is no longer here (removed now, or before). */
        REMOVED,
        /** Recipients not handed over are still pending: the message stays, the others count as delivered. */
        KEPT,
        /** Nothing: the message is gone, or the record was applied before. */
        NOTHING
    }

    /** Applies one record: idempotent, so a replay after a crash at any point is safe. */
    static Applied apply(SpoolFiles files, Entry e) throws IOException {
        if (!QueueIds.valid(e.id()) || !files.exists()) {
            return Applied.NOTHING;
        }
        try (StripeLocks.Held h = files.lock(e.id())) {
            Optional<QueueState> where = files.locate(e.id());
            if (where.isEmpty() || where.get() == QueueState.CORRUPT) {
                return Applied.NOTHING;
            }
            QueueState s = where.get();
            Envelope env = files.read(s, e.id());
            Set<String> taken = Set.copyOf(e.recipients());
            boolean anyNew = false;
            List<RecipientStatus> updated = new ArrayList<>();
            for (RecipientStatus r : env.recipients()) {
                if (r.isPending() && taken.contains(r.address())) {
                    updated.add(r.after(RecipientStatus.State.DELIVERED, e.lastReply(), e.time()));
                    anyNew = true;
                } else {
                    updated.add(r);
                }
            }
            if (updated.stream().noneMatch(RecipientStatus::isPending)) {
                Path dir = files.dir(s);
                Files.deleteIfExists(dir.resolve(e.id() + SpoolFiles.ENVELOPE));
                if (!Files.deleteIfExists(dir.resolve(e.id() + SpoolFiles.BODY))) {
                    for (Path d : files.dirs()) {
                        Files.deleteIfExists(d.resolve(e.id() + SpoolFiles.BODY));
                    }
                }
                // no directory fsync here: the journal stays until forget(), which fsyncs the state
                // directories first, so a removal lost in a crash is applied again from the journal
                return Applied.REMOVED;
            }
            if (!anyNew) {
                return Applied.NOTHING;
            }
            files.rewrite(s, env.withRecipients(updated));
            return Applied.KEPT;
        }
    }
}
