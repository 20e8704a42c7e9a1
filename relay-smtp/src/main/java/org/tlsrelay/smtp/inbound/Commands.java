package org.tlsrelay.smtp.inbound;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.internal.server.Command;
import org.subethamail.smtp.server.Session;
import org.tlsrelay.core.dns.IpAddresses;
import org.tlsrelay.core.metrics.RelayMetrics.Rejection;
import org.tlsrelay.smtp.inbound.EsmtpParameters.MailFrom;
import org.tlsrelay.smtp.inbound.EsmtpParameters.Parsed;
import org.tlsrelay.smtp.inbound.EsmtpParameters.RcptTo;

/**
 * The SMTP commands, replacing all of SubEthaSMTP's (see the package documentation for why): thin adapters that keep
 * the session's sequence and send the replies. The arguments of MAIL and RCPT are parsed by {@link EsmtpParameters},
 * the relay permission is {@link RelayAccess}'s; DATA, STARTTLS and AUTH have files of their own
 * ({@link DataCommand}, {@link StartTlsCommand}, {@link AuthCommand}). Every reply carries an RFC 3463 enhanced status
 * code, since ENHANCEDSTATUSCODES (RFC 2034) is advertised.
 */
final class Commands {
    private static final Logger LOG = LoggerFactory.getLogger(Commands.class);

    private Commands() {}

    /** One instance of each command, bound to the server. */
    static List<Command> all(CommandContext server) {
        return List.of(
                new Ehlo(server),
                new Helo(server),
                new Mail(server),
                new Rcpt(server),
                new DataCommand(server),
                new Rset(server),
                new Noop(server),
                new Quit(server),
                new Refused(server, "VRFY"),
                new Refused(server, "EXPN"),
                new Refused(server, "BDAT"),
                new Refused(server, "TURN"),
                new Refused(server, "ETRN"),
                new Help(server),
                new StartTlsCommand(server),
                new AuthCommand(server));
    }

    // ------------------------------------------------------------------ greeting

    /** EHLO (RFC 5321 §4.1.1.1) with the extensions we honour. */
    static final class Ehlo extends InboundCommand {
        Ehlo(CommandContext server) {
            super(server, "EHLO", "Introduce yourself (extended SMTP).");
        }

        @Override
        void handle(String args, Session session, SessionState state) throws IOException {
            String name = args.trim();
            if (name.isEmpty() || name.contains(" ")) {
                session.sendResponse("501 5.5.4 Syntax: EHLO hostname");
                return;
            }
            session.resetMailTransaction(); // §4.1.4: EHLO resets the transaction
            session.setHelo(name);
            state.esmtp = true;
            List<String> lines = new ArrayList<>();
            lines.add(server.hostname());
            lines.add("PIPELINING");
            lines.add("SIZE " + server.limits().maxMessageSize().bytes());
            if (server.tlsAvailable() && !session.isTLSStarted()) {
                lines.add("STARTTLS");
            }
            if (session.isTLSStarted() && server.authAvailable()) {
                lines.add("AUTH PLAIN LOGIN"); // RFC 4954 §4: only over TLS, so no password crosses
                // in clear
            }
            if (session.isTLSStarted()) {
                lines.add("REQUIRETLS"); // RFC 8689 §2: offered only in a session protected by TLS
            }
            lines.add("ENHANCEDSTATUSCODES");
            lines.add("8BITMIME");
            lines.add("DSN");
            lines.add("SMTPUTF8");
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < lines.size(); i++) {
                sb.append("250").append(i == lines.size() - 1 ? ' ' : '-').append(lines.get(i));
                if (i < lines.size() - 1) {
                    sb.append("\r\n");
                }
            }
            session.sendResponse(sb.toString());
        }
    }

    static final class Helo extends InboundCommand {
        Helo(CommandContext server) {
            super(server, "HELO", "Introduce yourself.");
        }

        @Override
        void handle(String args, Session session, SessionState state) throws IOException {
            String name = args.trim();
            if (name.isEmpty() || name.contains(" ")) {
                session.sendResponse("501 5.5.4 Syntax: HELO hostname");
                return;
            }
            session.resetMailTransaction();
            session.setHelo(name);
            state.esmtp = false;
            session.sendResponse("250 " + server.hostname());
        }
    }

    // ------------------------------------------------------------------ envelope

    /**
     * MAIL FROM (RFC 5321 §4.1.1.2): the sequence and the spool's free space here, the arguments in
     * {@link EsmtpParameters#mailFrom}.
     */
    static final class Mail extends InboundCommand {
        Mail(CommandContext server) {
            super(server, "MAIL", "MAIL FROM:<sender> [parameters]");
        }

        @Override
        void handle(String args, Session session, SessionState state) throws IOException {
            if (session.getHelo().isEmpty()) {
                session.sendResponse("503 5.5.1 Error: send HELO/EHLO first");
                return;
            }
            if (session.isMailTransactionInProgress()) {
                session.sendResponse("503 5.5.1 Error: nested MAIL command");
                return;
            }
            Parsed<MailFrom> parsed =
                    EsmtpParameters.mailFrom(
                            args, server.limits().maxMessageSize().bytes(), session.isTLSStarted());
            if (!(parsed instanceof Parsed.Ok<MailFrom> ok)) {
                refuse(session, ((Parsed.Refused<MailFrom>) parsed).refusal());
                return;
            }
            MailFrom mail = ok.value();
            if (!server.space().admits(mail.size())) {
                // Before any body is sent: below spool.min-free (or for a SIZE that would take
                // the file system below it) new mail waits at the client (RFC 3463 4.3.1).
                refuse(
                        session,
                        Refusal.counted(
                                Rejection.INSUFFICIENT_STORAGE,
                                "452 4.3.1 Insufficient system storage"));
                return;
            }
            session.startMailTransaction();
            Transaction tx = transaction(session);
            tx.sender = mail.path().mailbox();
            tx.body = mail.body();
            tx.smtpUtf8 = mail.smtpUtf8();
            tx.ret = mail.ret();
            tx.envid = mail.envid();
            tx.requireTls = mail.requireTls();
            session.sendResponse("250 2.1.0 Ok");
        }
    }

    /**
     * RCPT TO (RFC 5321 §4.1.1.3): the arguments in {@link EsmtpParameters#rcptTo}, the relay permission in
     * {@link RelayAccess}, the recipient limit here.
     */
    static final class Rcpt extends InboundCommand {
        Rcpt(CommandContext server) {
            super(server, "RCPT", "RCPT TO:<recipient> [parameters]");
        }

        @Override
        void handle(String args, Session session, SessionState state) throws IOException {
            if (!session.isMailTransactionInProgress()) {
                session.sendResponse("503 5.5.1 Error: need MAIL command");
                return;
            }
            Transaction tx = transaction(session);
            tx.rcptCommands++;
            Parsed<RcptTo> parsed = EsmtpParameters.rcptTo(args);
            if (!(parsed instanceof Parsed.Ok<RcptTo> ok)) {
                refuse(session, ((Parsed.Refused<RcptTo>) parsed).refusal());
                return;
            }
            RcptTo rcpt = ok.value();
            String mailbox = rcpt.path().mailbox();
            Optional<Refusal> denied =
                    server.relayAccess()
                            .refusal(state.trustedNetwork, state.user, rcpt.path(), tx.smtpUtf8);
            if (denied.isPresent()) {
                if (denied.get().counted().equals(Optional.of(Rejection.RELAY_DENIED))) {
                    LOG.info(
                            "relay denied: client={} helo={} to=<{}>",
                            IpAddresses.text(state.client),
                            SmtpPath.printable(session.getHelo().orElse("")),
                            SmtpPath.printable(mailbox));
                }
                refuse(session, denied.get());
                return;
            }
            if (tx.recipients.size() >= server.limits().maxRecipients()) {
                refuse(
                        session,
                        Refusal.counted(
                                Rejection.TOO_MANY_RECIPIENTS,
                                "452 4.5.3 Error: too many recipients"));
                return;
            }
            if (!tx.hasRecipient(mailbox)) {
                tx.recipients.add(new Transaction.Rcpt(mailbox, rcpt.dsnNotify(), rcpt.orcpt()));
                session.addRecipient(mailbox);
            }
            session.sendResponse("250 2.1.5 Ok");
        }
    }

    // ------------------------------------------------------------------ session

    static final class Rset extends InboundCommand {
        Rset(CommandContext server) {
            super(server, "RSET", "Abort the current mail transaction.");
        }

        @Override
        void handle(String args, Session session, SessionState state) throws IOException {
            session.resetMailTransaction();
            session.sendResponse("250 2.0.0 Ok");
        }
    }

    static final class Noop extends InboundCommand {
        Noop(CommandContext server) {
            super(server, "NOOP", "Do nothing.");
        }

        @Override
        void handle(String args, Session session, SessionState state) throws IOException {
            session.sendResponse("250 2.0.0 Ok");
        }
    }

    static final class Quit extends InboundCommand {
        Quit(CommandContext server) {
            super(server, "QUIT", "Close the connection.");
        }

        @Override
        void handle(String args, Session session, SessionState state) throws IOException {
            session.sendResponse("221 2.0.0 Bye");
            session.quit();
        }
    }

    static final class Help extends InboundCommand {
        Help(CommandContext server) {
            super(server, "HELP", "This help.");
        }

        @Override
        void handle(String args, Session session, SessionState state) throws IOException {
            session.sendResponse("214 2.0.0 See RFC 5321; this is an outbound relay");
        }
    }

    /** Commands we do not offer: address verification (RFC 5321 §7.3), BDAT without CHUNKING, TURN, ETRN. */
    static final class Refused extends InboundCommand {
        Refused(CommandContext server, String verb) {
            super(server, verb, verb + " is not available.");
        }

        @Override
        void handle(String args, Session session, SessionState state) throws IOException {
            session.sendResponse("502 5.5.1 Error: " + getName() + " command is not available");
        }
    }
}
