package org.tlsrelay.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.tlsrelay.core.config.Durations;
import org.tlsrelay.core.config.HostPort;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.queue.SpoolDrain;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.handover.Drain;
import org.tlsrelay.smtp.handover.HandOverException;
import org.tlsrelay.smtp.handover.HandOverTarget;
import org.tlsrelay.smtp.handover.Outcome;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tlsrelay queue drain --to HOST:PORT}: hands every queued message of this node's spool over to another relay
 * ({@link Drain}), with the relay on this spool stopped. Exit 0 when everything was handed over, 1 when messages are
 * left here, 2 for a usage, configuration or connection error.
 */
@Command(
        name = "drain",
        mixinStandardHelpOptions = true,
        header = "Hand every queued message over to another relay (retire a node).",
        description = {
            "Re-relay every queued message of this node's spool (spool.dir) to another relay over SMTP, each with the"
                    + " envelope it was queued with (sender, the recipients still pending, DSN parameters, "
                    + "SMTPUTF8/8BITMIME, REQUIRETLS), and delete it here only after the other relay's 250. Held and "
                    + "damaged messages stay here.",
            "",
            "The relay on this spool must be stopped: the drain takes its lock, so a relay cannot start meanwhile. "
                    + "An interrupted drain resumes when run again, without loss and without duplicates (except a "
                    + "message whose 250 came in the instant before the interruption, RFC 1047).",
            "",
            "TLS: STARTTLS whenever the other relay offers it; the certificate is checked only with --tls-verify or "
                    + "--ca-file. AUTH needs TLS: the password is never sent in clear text. A REQUIRETLS message goes"
                    + " only over a verified TLS session to a relay that advertises REQUIRETLS."
        },
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:every message was handed over",
            "1:messages are left here (refused, held, damaged, or the connection broke during them)",
            "2:usage, configuration or connection error (nothing more was tried)"
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  tlsrelay queue drain --to tlsrelay-0.tlsrelay:2525",
            "  tlsrelay queue drain --to relay.example.org:587 --auth-user drain \\",
            "      --password-file /run/secrets/drain-password --ca-file /etc/tlsrelay/ca.pem"
        })
final class QueueDrainCommand extends QueueCommand.Sub {

    @Option(
            names = "--to",
            required = true,
            paramLabel = "HOST:PORT",
            description = "The relay to hand the messages over to (port 25 when left out).")
    String to;

    @Option(
            names = "--auth-user",
            paramLabel = "USER",
            description = "AUTH PLAIN/LOGIN as this user, after STARTTLS (needs --password-file).")
    String authUser;

    @Option(
            names = "--password-file",
            paramLabel = "FILE",
            description =
                    "The AUTH password: the first line of this file (never on the command line).")
    Path passwordFile;

    @Option(
            names = "--tls-verify",
            description =
                    "Require STARTTLS and a certificate that chains to the system's CAs (and --ca-file) and names"
                            + " HOST.")
    boolean tlsVerify;

    @Option(
            names = "--ca-file",
            paramLabel = "FILE",
            description =
                    "Require STARTTLS and a certificate that chains to the CAs in this PEM file and names HOST "
                            + "(repeatable; with --tls-verify, the system's CAs count too).")
    List<Path> caFiles = new ArrayList<>();

    @Option(
            names = "--timeout",
            paramLabel = "DURATION",
            defaultValue = "2m",
            description =
                    "Time allowed to connect and for each reply of the other relay (default: 2m).")
    String timeout;

    @Override
    public Integer call() throws Exception {
        RelayConfig cfg = config.load();
        HandOverTarget target = target(cfg);
        Path dir = cfg.spool().dir();
        if (Files.isDirectory(dir) && !(Files.isReadable(dir) && Files.isExecutable(dir))) {
            throw StateAccess.runAsRelayUser(dir.toAbsolutePath().normalize());
        }
        SpoolDrain spool;
        try {
            spool = SpoolDrain.open(dir, Spool.Options.defaults());
        } catch (SpoolDrain.InUse e) {
            return output.error(
                    2,
                    e.getMessage()
                            + ": stop it first (on Kubernetes: scale the StatefulSet down), then drain its spool");
        } catch (NoSuchFileException e) {
            out().println("no spool at " + dir.toAbsolutePath().normalize() + ": nothing to drain");
            out().flush();
            return 0;
        }
        Drain.Summary sum;
        try (spool) {
            if (spool.replayed() > 0) {
                out().println(
                                spool.replayed()
                                        + " hand-over(s) recorded by an interrupted drain applied first");
            }
            sum = new Drain(target, this::progress, Clock.systemUTC()).run(spool);
        } catch (HandOverException e) {
            return output.error(2, e.getMessage());
        }
        out().printf(
                        "handed over: %d, left: %d, failed: %d%n",
                        sum.handedOver(), sum.left(), sum.failed());
        out().flush();
        if (!sum.stopped().isEmpty()) {
            return output.error(2, "stopped: " + sum.stopped() + "; run the drain again");
        }
        return sum.left() + sum.failed() == 0 ? 0 : 1;
    }

    /** One line per message as it is done. */
    private void progress(Outcome o) {
        if (o instanceof Outcome.HandedOver h) {
            out().println(
                            h.id()
                                    + ": handed over as "
                                    + h.queuedAs()
                                    + " ("
                                    + h.recipients()
                                    + " recipient(s)"
                                    + (h.stillHere() == 0
                                            ? ")"
                                            : "; " + h.stillHere() + " refused, left here)"));
        } else if (o instanceof Outcome.Left l) {
            out().println(l.id() + ": left here: " + l.reason());
        } else if (o instanceof Outcome.Failed f) {
            out().println(f.id() + ": failed, left here: " + f.reason());
        }
        out().flush();
    }

    private HandOverTarget target(RelayConfig cfg) {
        HostPort hp;
        try {
            hp = HostPort.parse(to, 25);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--to: " + e.getMessage());
        }
        if (hp.port() == 0) {
            throw new UsageException("--to: port 0 is not a port to connect to (1-65535)");
        }
        Duration limit;
        try {
            limit = Durations.parse(timeout);
        } catch (IllegalArgumentException e) {
            throw new UsageException(
                    "--timeout: \"" + timeout + "\" is not a duration (e.g. 30s, 2m)");
        }
        HandOverTarget.Credentials credentials = credentials();
        HandOverTarget.CertificateCheck check = HandOverTarget.CertificateCheck.OPPORTUNISTIC;
        if (tlsVerify || !caFiles.isEmpty()) {
            try {
                check =
                        new HandOverTarget.CertificateCheck.Verified(
                                TrustMaterial.from(tlsVerify, caFiles).trustManager());
            } catch (IOException e) {
                throw new UsageException("--ca-file: " + Problems.describe(e));
            }
        }
        String helo = cfg.delivery().heloNameOverride().orElse(cfg.server().hostname());
        return new HandOverTarget(hp.host(), hp.port(), helo, credentials, check, limit);
    }

    /** The AUTH user and the first line of --password-file; the password never comes from the command line. */
    private HandOverTarget.Credentials credentials() {
        if (authUser == null && passwordFile == null) {
            return HandOverTarget.Credentials.NONE;
        }
        if (authUser == null || authUser.isBlank()) {
            throw new UsageException("--password-file needs --auth-user USER");
        }
        if (passwordFile == null) {
            throw new UsageException(
                    "--auth-user needs --password-file FILE (the password is never taken from the command"
                            + " line)");
        }
        String password;
        try {
            List<String> lines = Files.readAllLines(passwordFile, StandardCharsets.UTF_8);
            password = lines.isEmpty() ? "" : lines.get(0);
        } catch (IOException e) {
            throw new UsageException(
                    "--password-file: cannot read " + passwordFile + ": " + Problems.reason(e));
        }
        if (password.isEmpty()) {
            throw new UsageException(
                    "--password-file: "
                            + passwordFile
                            + " is empty: the password is its first line");
        }
        return new HandOverTarget.Credentials(authUser, password);
    }
}
