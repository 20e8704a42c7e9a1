package org.tlsrelay.core.queue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.log.LogFields;

/**
 * A change an operator made to the queue ({@code tlsrelay queue hold|release|delete|flush}) and who made it, for the
 * relay's log, queue id first: {@code 1j1v7tv5ks0lsh: placed on hold by alice (was deferred)}. In the relay's own
 * process it is logged at once. A command in another process leaves a notice instead: an empty file
 * {@code SPOOL/notice.*} whose name carries the action, which the running relay logs and removes when its watcher sees
 * it (or at its next start). A name can be read whoever created the file, so a command run by another user than the
 * relay's is still told.
 *
 * @param time when the change was made
 * @param action what was done
 * @param id the message's queue id; empty for a flush
 * @param detail the state the message was in (hold, delete), or how many messages a flush made due
 * @param user the OS user who ran the command, e.g. {@code tlsrelay (sudo from alice)}
 */
record OperatorAction(Instant time, Action action, String id, String detail, String user) {
    private static final Logger LOG = LoggerFactory.getLogger(OperatorAction.class);
    static final String PREFIX = "notice.";

    /** The queue commands that change the queue. */
    enum Action {
        HOLD,
        RELEASE,
        DELETE,
        FLUSH;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** A change made now by the user running this process. */
    static OperatorAction now(Instant time, Action action, String id, String detail) {
        return new OperatorAction(time, action, id, detail, currentUser());
    }

    /** The OS user of this process; under sudo, also who ran sudo ({@code SUDO_USER}). */
    static String currentUser() {
        String user = System.getProperty("user.name", "");
        String sudo = System.getenv("SUDO_USER");
        if (user.isEmpty()) {
            user = "unknown";
        }
        return sudo != null && !sudo.isBlank() && !sudo.equals(user)
                ? user + " (sudo from " + sudo + ")"
                : user;
    }

    /** One INFO line, queue id first, with queueId, action and user in the MDC (JSON keys). */
    void log(Instant now) {
        String late =
                Duration.between(time, now).compareTo(Duration.ofSeconds(10)) > 0
                        ? " at " + time
                        : "";
        try (LogFields f = LogFields.of("queueId", id, "action", action.label(), "user", user)) {
            switch (action) {
                case HOLD ->
                        LOG.info("{}: placed on hold by {} (was {}){}", id, user, detail, late);
                case RELEASE -> LOG.info("{}: released from hold by {}{}", id, user, late);
                case DELETE -> LOG.info("{}: deleted by {} (was {}){}", id, user, detail, late);
                case FLUSH ->
                        LOG.info(
                                "queue flushed by {}: {} message(s) due now{}", user, detail, late);
            }
        }
    }

    // ---- notices: from an operator's process to the relay's log

    /** Leaves this action in {@code root} for the running relay to log (an empty file; its name says it all). */
    void leaveNotice(Path root) throws IOException {
        String name =
                PREFIX
                        + time.toEpochMilli()
                        + "."
                        + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1)
                        + "."
                        + action.label()
                        + "."
                        + encode(id)
                        + "."
                        + encode(detail)
                        + "."
                        + encode(user);
        try {
            Files.createFile(root.resolve(name));
        } catch (FileAlreadyExistsException e) {
            // the same action at the same millisecond with the same random part: told once is
            // enough
        }
    }

    /** The action a notice's file name describes; empty for a name that is not one. */
    static Optional<OperatorAction> ofNotice(String name) {
        if (!name.startsWith(PREFIX)) {
            return Optional.empty();
        }
        String[] f = name.substring(PREFIX.length()).split("\\.", -1);
        if (f.length != 6) {
            return Optional.empty();
        }
        try {
            Action action = Action.valueOf(f[2].toUpperCase(Locale.ROOT));
            return Optional.of(
                    new OperatorAction(
                            Instant.ofEpochMilli(Long.parseLong(f[0])),
                            action,
                            decode(f[3]),
                            decode(f[4]),
                            decode(f[5])));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** Logs and removes every notice in {@code root}, oldest first (the relay's side). */
    static void drainNotices(Path root, Instant now) {
        List<Path> notices = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, PREFIX + "*")) {
            ds.forEach(notices::add);
        } catch (IOException e) {
            LOG.warn("cannot read the operators' notices in {}: {}", root, Problems.describe(e));
            return;
        }
        notices.sort(Comparator.comparing(p -> p.getFileName().toString()));
        for (Path p : notices) {
            try {
                Files.delete(p);
            } catch (NoSuchFileException e) {
                continue; // another drain took it
            } catch (IOException e) {
                LOG.warn("cannot remove the operator's notice {}: {}", p, Problems.describe(e));
                continue;
            }
            ofNotice(p.getFileName().toString()).ifPresent(a -> a.log(now));
        }
    }

    /** Letters, digits, '-' and '_' as they are; any other octet of the UTF-8 form as %XX. */
    static String encode(String s) {
        if (s.isEmpty()) {
            return "-";
        }
        StringBuilder b = new StringBuilder();
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (x & 0xff);
            if (c < 0x80 && (Character.isLetterOrDigit(c) || c == '_')) {
                b.append(c);
            } else {
                b.append('%').append(String.format(Locale.ROOT, "%02X", x & 0xff));
            }
        }
        return b.toString();
    }

    static String decode(String s) {
        if (s.equals("-")) {
            return "";
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < s.length()) {
                out.write(Integer.parseInt(s.substring(i + 1, i + 3), 16));
                i += 2;
            } else {
                out.write(c);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
