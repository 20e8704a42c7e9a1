package org.tlsrelay.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.EnvelopeCodec;
import org.tlsrelay.core.queue.QueueEntry;
import org.tlsrelay.core.queue.QueueState;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.SpoolAdmin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code tlsrelay queue ...}: look at and change the spool directory ({@code spool.dir}), also while the relay runs.
 * Changes take the same per-message locks as the relay; {@code release} and {@code flush} wake it up.
 */
@Command(
        name = "queue",
        mixinStandardHelpOptions = true,
        header = "Inspect and manage the queue.",
        description =
                "Inspect and manage the queue (spool.dir); safe while the relay runs: each change takes the "
                        + "relay's own per-message lock, and release/flush wake it up. drain hands the queue over "
                        + "to another relay, with this one stopped.",
        subcommands = {
            QueueCommand.ListCmd.class,
            QueueCommand.Show.class,
            QueueCommand.Delete.class,
            QueueCommand.Hold.class,
            QueueCommand.Release.class,
            QueueCommand.Flush.class,
            QueueDrainCommand.class
        },
        footerHeading = "%nExit status:%n",
        footer = {
            "  0  done",
            "  1  no message with that id (drain: messages are left here)",
            "  2  usage or configuration error (drain: also no usable connection)"
        })
final class QueueCommand extends CommandGroup {
    static final int NOT_FOUND = 1;

    /** Shared by the subcommands: the configuration and the output streams. */
    abstract static class Sub implements Callable<Integer> {
        @Mixin ConfigOption config;

        @Mixin Output output;

        /** The spool, or {@code permission denied: SPOOL (run as the relay's user)} if this user may not read it. */
        SpoolAdmin open() throws Exception {
            Path dir = config.load().spool().dir();
            if (Files.isDirectory(dir) && !(Files.isReadable(dir) && Files.isExecutable(dir))) {
                throw StateAccess.runAsRelayUser(dir.toAbsolutePath().normalize());
            }
            return SpoolAdmin.open(dir);
        }

        PrintWriter out() {
            return output.out();
        }

        int notFound(String id) {
            return output.error(NOT_FOUND, "no message " + id + " in the queue");
        }

        /** A change of one message ({@code delete}, {@code hold}, {@code release}): its state before, if any. */
        interface Change {
            Optional<QueueState> apply(SpoolAdmin spool, String id) throws IOException;
        }

        /** What a command prints once its change is made, given the state before; returns the exit status. */
        interface Done {
            int report(QueueState was);
        }

        /** Makes {@code change} to message {@code id}: exit 1 when there is no such message, else {@code done}'s. */
        int change(String id, Change change, Done done) throws Exception {
            try (SpoolAdmin spool = open()) {
                Optional<QueueState> was = change.apply(spool, id);
                if (was.isEmpty()) {
                    return notFound(id);
                }
                int status = done.report(was.get());
                out().flush();
                return status;
            }
        }
    }

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            header = "List every queued message.",
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {"0:done", "2:usage or configuration error"},
            footerHeading = "%nExamples:%n",
            footer = {
                "  tlsrelay queue list --config /etc/tlsrelay/tlsrelay.yaml",
                "  tlsrelay queue list --json | jq -r '.[] | select(.state == \"deferred\") | .id'"
            },
            description = {
                "List every queued message, oldest first, with its state and its recipients' status.",
                "--json prints a JSON array; the fields are described in the README (Inbound SMTP and the spool)."
            })
    static final class ListCmd extends Sub {
        @Mixin JsonOption json;

        @Override
        public Integer call() throws Exception {
            try (SpoolAdmin spool = open()) {
                List<QueueEntry> entries = spool.entries();
                if (json.on()) {
                    ObjectMapper m = EnvelopeCodec.mapper();
                    ArrayNode a = m.createArrayNode();
                    for (QueueEntry e : entries) {
                        if (e instanceof QueueEntry.Message q) {
                            a.add(entry(m, q.message()));
                        } else if (e instanceof QueueEntry.Damaged d) {
                            ObjectNode o = a.addObject();
                            o.put("id", d.id());
                            o.put("state", d.state().label());
                            o.put("error", d.error());
                        }
                    }
                    output.json(a);
                    return 0;
                }
                if (entries.isEmpty()) {
                    out().println("Queue is empty");
                    out().flush();
                    return 0;
                }
                out().printf(
                                "%-14s  %-8s  %9s  %-20s  %s%n",
                                "ID", "STATE", "SIZE", "ARRIVAL", "SENDER");
                for (QueueEntry entry : entries) {
                    if (entry instanceof QueueEntry.Damaged d) {
                        out().printf(
                                        "%-14s  %-8s  (damaged: %s)%n",
                                        d.id(), d.state().label(), d.error());
                        continue;
                    }
                    QueuedMessage q = ((QueueEntry.Message) entry).message();
                    Envelope e = q.envelope();
                    out().printf(
                                    "%-14s  %-8s  %9d  %-20s  <%s>%n",
                                    q.id(),
                                    q.state().label(),
                                    q.size(),
                                    e.arrival().truncatedTo(java.time.temporal.ChronoUnit.SECONDS),
                                    e.sender());
                    for (RecipientStatus r : e.recipients()) {
                        out().printf(
                                        "    %-40s  %-9s%s%n",
                                        r.address(),
                                        status(r),
                                        r.lastReply().isEmpty() ? "" : "  " + r.lastReply());
                    }
                }
                out().printf(
                                "%d message(s)%s%n",
                                entries.size(),
                                spool.relayRunning() ? "" : "; the relay is not running");
                out().flush();
                return 0;
            }
        }
    }

    /** One message as {@code queue list --json} and {@code queue show --json} print it. */
    static ObjectNode entry(ObjectMapper m, QueuedMessage q) {
        Envelope e = q.envelope();
        ObjectNode o = m.createObjectNode();
        o.put("id", q.id());
        o.put("state", q.state().label());
        o.put("size", q.size());
        o.put("arrival", e.arrival().toString());
        o.put("sender", e.sender());
        o.put("attempts", e.attempts());
        o.put("nextAttempt", e.nextAttempt().toString());
        ArrayNode rs = o.putArray("recipients");
        for (RecipientStatus r : e.recipients()) {
            ObjectNode ro = rs.addObject();
            ro.put("address", r.address());
            ro.put("status", status(r));
            ro.put("attempts", r.attempts());
            ro.put("lastReply", r.lastReply());
        }
        return o;
    }

    static String status(RecipientStatus r) {
        return r.state().name().toLowerCase(Locale.ROOT);
    }

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            header = "Show one message: envelope and content.",
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {
                "0:done",
                "1:no message with that id",
                "2:usage or configuration error"
            },
            footerHeading = "%nExample:%n",
            footer = "  tlsrelay queue show 1jb7q8k3l4m0a9",
            description = {
                "Show one message: its envelope (sender, recipients and their status, DSN parameters, "
                        + "notes) followed by the message as queued. Exit 1 when there is no such message."
            })
    static final class Show extends Sub {
        @Parameters(paramLabel = "ID", description = "The queue id (as in 'queued as ID').")
        String id;

        @Mixin JsonOption json;

        @Override
        public Integer call() throws Exception {
            try (SpoolAdmin spool = open()) {
                Optional<QueuedMessage> found;
                try {
                    found = spool.find(id);
                } catch (IOException e) {
                    return output.error(NOT_FOUND, id + " is damaged: " + Problems.describe(e));
                }
                if (found.isEmpty()) {
                    return notFound(id);
                }
                QueuedMessage q = found.get();
                ObjectMapper m = EnvelopeCodec.mapper();
                ObjectNode o = entry(m, q);
                o.set("envelope", m.valueToTree(q.envelope()));
                if (json.on()) {
                    output.json(o);
                    return 0;
                }
                Envelope e = q.envelope();
                out().println("id:          " + q.id());
                out().println("state:       " + q.state().label());
                out().println("size:        " + q.size());
                out().println("arrival:     " + e.arrival());
                out().println("sender:      <" + e.sender() + ">");
                out().println("attempts:    " + e.attempts() + ", next " + e.nextAttempt());
                out().println(
                                "parameters:  BODY="
                                        + e.body()
                                        + " SMTPUTF8="
                                        + e.smtpUtf8()
                                        + " RET="
                                        + e.ret()
                                        + (e.envid().isEmpty() ? "" : " ENVID=" + e.envid()));
                out().println(
                                "source:      "
                                        + e.source().protocol()
                                        + " "
                                        + e.source().address()
                                        + " helo="
                                        + e.source().helo()
                                        + (e.source().user().isEmpty()
                                                ? ""
                                                : " user=" + e.source().user())
                                        + (e.source().tls().isEmpty()
                                                ? ""
                                                : " tls=" + e.source().tls()));
                for (RecipientStatus r : e.recipients()) {
                    out().println(
                                    "recipient:   <"
                                            + r.address()
                                            + "> "
                                            + status(r)
                                            + " attempts="
                                            + r.attempts()
                                            + (r.dsnNotify().isEmpty()
                                                    ? ""
                                                    : " NOTIFY=" + r.dsnNotify())
                                            + (r.orcpt().isEmpty() ? "" : " ORCPT=" + r.orcpt())
                                            + (r.lastReply().isEmpty()
                                                    ? ""
                                                    : " last: " + r.lastReply()));
                }
                e.notes().forEach(n -> out().println("note:        " + n));
                out().println();
                out().flush();
                if (Files.exists(q.body())) {
                    try (InputStream in = q.openBody()) {
                        System.out.flush();
                        in.transferTo(System.out);
                        System.out.flush();
                    }
                }
                return 0;
            }
        }
    }

    @Command(
            name = "delete",
            mixinStandardHelpOptions = true,
            header = "Delete a message, without a bounce.",
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {
                "0:done",
                "1:no message with that id",
                "2:usage or configuration error"
            },
            footerHeading = "%nExample:%n",
            footer = "  tlsrelay queue delete 1jb7q8k3l4m0a9",
            description =
                    "Delete a message in any state, without a bounce. Exit 1 when there is no such message.")
    static final class Delete extends Sub {
        @Parameters(paramLabel = "ID", description = "The queue id (as in 'queued as ID').")
        String id;

        @Override
        public Integer call() throws Exception {
            return change(
                    id,
                    SpoolAdmin::delete,
                    was -> {
                        out().println(id + ": deleted (was " + was.label() + ")");
                        return 0;
                    });
        }
    }

    @Command(
            name = "hold",
            mixinStandardHelpOptions = true,
            header = "Hold a message: not delivered until released.",
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {
                "0:done",
                "1:no message with that id",
                "2:usage or configuration error"
            },
            footerHeading = "%nExample:%n",
            footer = "  tlsrelay queue hold 1jb7q8k3l4m0a9",
            description =
                    "Put a message on hold: it is not delivered until released. Exit 1 when there is no such "
                            + "message.")
    static final class Hold extends Sub {
        @Parameters(paramLabel = "ID", description = "The queue id (as in 'queued as ID').")
        String id;

        @Override
        public Integer call() throws Exception {
            return change(
                    id,
                    SpoolAdmin::hold,
                    was -> {
                        if (was == QueueState.CORRUPT) {
                            return output.error(
                                    NOT_FOUND, id + " has an unreadable envelope; delete it");
                        }
                        out().println(
                                        id
                                                + (was == QueueState.HOLD
                                                        ? ": already on hold"
                                                        : ": on hold"));
                        return 0;
                    });
        }
    }

    @Command(
            name = "release",
            mixinStandardHelpOptions = true,
            header = "Release a held message; it is due at once.",
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {
                "0:done",
                "1:no message with that id",
                "2:usage or configuration error"
            },
            footerHeading = "%nExample:%n",
            footer = "  tlsrelay queue release 1jb7q8k3l4m0a9",
            description =
                    "Release a held message; it is due at once. Exit 1 when there is no such message.")
    static final class Release extends Sub {
        @Parameters(paramLabel = "ID", description = "The queue id (as in 'queued as ID').")
        String id;

        @Override
        public Integer call() throws Exception {
            return change(
                    id,
                    SpoolAdmin::release,
                    was -> {
                        out().println(
                                        id
                                                + (was == QueueState.HOLD
                                                        ? ": released"
                                                        : ": not on hold (" + was.label() + ")"));
                        return 0;
                    });
        }
    }

    @Command(
            name = "flush",
            mixinStandardHelpOptions = true,
            header = "Make every queued message due now.",
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {"0:done", "2:usage or configuration error"},
            footerHeading = "%nExample:%n",
            footer = "  tlsrelay queue flush",
            description = "Make every queued message (not held ones) due now and wake the relay.")
    static final class Flush extends Sub {
        @Override
        public Integer call() throws Exception {
            int[] flushed = {0};
            try (SpoolAdmin spool = open()) {
                // Progress on stderr, one line per 100 messages, so that a long flush is visibly
                // alive.
                int n =
                        spool.flush(
                                id -> {
                                    if (++flushed[0] % 100 == 0) {
                                        output.err()
                                                .println(
                                                        "tlsrelay: "
                                                                + flushed[0]
                                                                + " message(s) made due so far");
                                    }
                                });
                out().println(
                                n
                                        + " message(s) due now"
                                        + (spool.relayRunning()
                                                ? ""
                                                : "; the relay is not running, they go when it starts"));
                out().flush();
                return 0;
            }
        }
    }
}
