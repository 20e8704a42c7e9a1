package org.tlsrelay.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.EnvelopeCodec;
import org.tlsrelay.core.queue.QueueState;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.SpoolAdmin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

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
                        + "relay's own per-message lock, and release/flush wake it up.",
        subcommands = {
            QueueCommand.ListCmd.class,
            QueueCommand.Show.class,
            QueueCommand.Delete.class,
            QueueCommand.Hold.class,
            QueueCommand.Release.class,
            QueueCommand.Flush.class
        },
        footerHeading = "%nExit status:%n",
        footer = {"  0  done", "  1  no message with that id", "  2  usage or configuration error"})
final class QueueCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final int NOT_FOUND = 1;

    /** Shared by the subcommands: the configuration and the output streams. */
    abstract static class Sub implements Callable<Integer> {
        @Mixin ConfigOption config;

        @Spec CommandSpec spec;

        /** The spool, or {@code permission denied: SPOOL (run as the relay's user)} if this user may not read it. */
        SpoolAdmin open() throws Exception {
            Path dir = config.load().spool().dir();
            if (Files.isDirectory(dir) && !(Files.isReadable(dir) && Files.isExecutable(dir))) {
                throw StateAccess.runAsRelayUser(dir.toAbsolutePath().normalize());
            }
            return SpoolAdmin.open(dir);
        }

        PrintWriter out() {
            return spec.commandLine().getOut();
        }

        PrintWriter err() {
            return spec.commandLine().getErr();
        }

        int notFound(String id) {
            err().println("tlsrelay: no message " + id + " in the queue");
            return NOT_FOUND;
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
        @Option(names = "--json", description = "Print a JSON array instead of a table.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            try (SpoolAdmin spool = open()) {
                List<QueuedMessage> messages = spool.list();
                List<String> unreadable = spool.unreadable();
                if (json) {
                    ObjectMapper m = EnvelopeCodec.mapper();
                    ArrayNode a = m.createArrayNode();
                    messages.forEach(q -> a.add(entry(m, q)));
                    for (String id : unreadable) {
                        ObjectNode o = a.addObject();
                        o.put("id", id);
                        o.put("state", QueueState.CORRUPT.label());
                        o.put("error", "unreadable envelope");
                    }
                    out().println(m.writerWithDefaultPrettyPrinter().writeValueAsString(a));
                    out().flush();
                    return 0;
                }
                if (messages.isEmpty() && unreadable.isEmpty()) {
                    out().println("Queue is empty");
                    out().flush();
                    return 0;
                }
                out().printf(
                                "%-14s  %-8s  %9s  %-20s  %s%n",
                                "ID", "STATE", "SIZE", "ARRIVAL", "SENDER");
                for (QueuedMessage q : messages) {
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
                for (String id : unreadable) {
                    out().printf(
                                    "%-14s  %-8s  (unreadable envelope)%n",
                                    id, QueueState.CORRUPT.label());
                }
                out().printf(
                                "%d message(s)%s%n",
                                messages.size() + unreadable.size(),
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

        @Option(
                names = "--json",
                description = "Print the envelope as one JSON object (no message content).")
        boolean json;

        @Override
        public Integer call() throws Exception {
            try (SpoolAdmin spool = open()) {
                Optional<QueuedMessage> found = spool.find(id);
                if (found.isEmpty()) {
                    return notFound(id);
                }
                QueuedMessage q = found.get();
                ObjectMapper m = EnvelopeCodec.mapper().enable(SerializationFeature.INDENT_OUTPUT);
                ObjectNode o = entry(m, q);
                o.set("envelope", m.valueToTree(q.envelope()));
                if (json) {
                    out().println(m.writeValueAsString(o));
                    out().flush();
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
            try (SpoolAdmin spool = open()) {
                Optional<QueueState> was = spool.delete(id);
                if (was.isEmpty()) {
                    return notFound(id);
                }
                out().println(id + ": deleted (was " + was.get().label() + ")");
                out().flush();
                return 0;
            }
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
            try (SpoolAdmin spool = open()) {
                Optional<QueueState> was = spool.hold(id);
                if (was.isEmpty()) {
                    return notFound(id);
                }
                if (was.get() == QueueState.CORRUPT) {
                    err().println("tlsrelay: " + id + " has an unreadable envelope; delete it");
                    return NOT_FOUND;
                }
                out().println(
                                id
                                        + (was.get() == QueueState.HOLD
                                                ? ": already on hold"
                                                : ": on hold"));
                out().flush();
                return 0;
            }
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
            try (SpoolAdmin spool = open()) {
                Optional<QueueState> was = spool.release(id);
                if (was.isEmpty()) {
                    return notFound(id);
                }
                out().println(
                                id
                                        + (was.get() == QueueState.HOLD
                                                ? ": released"
                                                : ": not on hold (" + was.get().label() + ")"));
                out().flush();
                return 0;
            }
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
                                        err().println(
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
