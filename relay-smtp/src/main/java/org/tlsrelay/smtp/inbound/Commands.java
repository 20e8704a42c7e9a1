package org.tlsrelay.smtp.inbound;

import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.subethamail.smtp.AuthenticationHandler;
import org.subethamail.smtp.DropConnectionException;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.internal.server.BaseCommand;
import org.subethamail.smtp.internal.server.Command;
import org.subethamail.smtp.server.Session;
import org.tlsrelay.core.dkim.AcceptSigner;
import org.tlsrelay.core.metrics.RelayMetrics.Rejection;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.queue.XText;

/**
 * The SMTP commands, replacing all of SubEthaSMTP's (see the package documentation for why). Every reply carries an
 * RFC 3463 enhanced status code, since ENHANCEDSTATUSCODES (RFC 2034) is advertised.
 */
final class Commands {
    private static final Logger LOG = LoggerFactory.getLogger(InboundServer.class);

    private Commands() {}

    /** One instance of each command, bound to the server. */
    static List<Command> all(InboundServer server) {
        return List.of(
                new Ehlo(server),
                new Helo(server),
                new Mail(server),
                new Rcpt(server),
                new Data(server),
                new Rset(server),
                new Noop(server),
                new Quit(server),
                new Refused(server, "VRFY"),
                new Refused(server, "EXPN"),
                new Refused(server, "BDAT"),
                new Refused(server, "TURN"),
                new Refused(server, "ETRN"),
                new Help(server),
                new StartTls(server),
                new Auth(server));
    }

    /** Checks the verb and the line length, then runs the command with the session's state. */
    abstract static class Cmd extends BaseCommand {
        final InboundServer server;

        Cmd(InboundServer server, String name, String help) {
            super(name, help);
            this.server = server;
        }

        @Override
        public final void execute(String line, Session session)
                throws IOException, DropConnectionException {
            // SubEthaSMTP finds commands by their first four letters too ("DATAX" would reach
            // DATA): insist on the verb.
            String verb = verb(line);
            if (!verb.equalsIgnoreCase(getName())) {
                session.sendResponse("500 5.5.2 Error: command not recognized");
                return;
            }
            if (line.length() > server.limits().maxLineLength()) {
                session.sendResponse("500 5.5.2 Error: line too long");
                return;
            }
            handle(line.substring(verb.length()), session, server.state(session));
        }

        /** Runs the command; {@code args} is the text after the verb (with its leading space, if any). */
        abstract void handle(String args, Session session, SessionState state)
                throws IOException, DropConnectionException;

        static String verb(String line) {
            int sp = line.indexOf(' ');
            return sp < 0 ? line : line.substring(0, sp);
        }

        static Transaction transaction(Session session) {
            return (Transaction) session.getMessageHandler();
        }
    }

    // ------------------------------------------------------------------ greeting

    /** EHLO (RFC 5321 §4.1.1.1) with the extensions we honour. */
    static final class Ehlo extends Cmd {
        Ehlo(InboundServer server) {
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

    static final class Helo extends Cmd {
        Helo(InboundServer server) {
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

    /** MAIL FROM (RFC 5321 §4.1.1.2) with SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH and REQUIRETLS parameters. */
    static final class Mail extends Cmd {
        Mail(InboundServer server) {
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
            String a = args.stripLeading();
            if (!a.regionMatches(true, 0, "FROM:", 0, 5)) {
                session.sendResponse("501 5.5.4 Syntax: MAIL FROM:<address>");
                return;
            }
            SmtpPath path;
            try {
                path = SmtpPath.parse(a.substring(5), true);
            } catch (SmtpPath.SyntaxException e) {
                session.sendResponse("501 5.1.7 Bad sender address syntax: " + e.getMessage());
                return;
            }
            Transaction tx = new Transaction();
            Set<String> seen = new HashSet<>();
            for (SmtpPath.Parameter p : path.parameters()) {
                String key = p.keyword().toUpperCase(Locale.ROOT);
                if (!seen.add(key)) {
                    session.sendResponse("501 5.5.4 Error: duplicate parameter " + key);
                    return;
                }
                String v = p.value();
                switch (key) {
                    case "SIZE" -> {
                        // RFC 1870 §6: refuse up front a message declared bigger than the limit.
                        if (!v.matches("[0-9]{1,20}")) {
                            session.sendResponse("501 5.5.4 Error: bad SIZE value");
                            return;
                        }
                        if (v.length() > 18
                                || Long.parseLong(v) > server.limits().maxMessageSize().bytes()) {
                            server.metrics().rejected(Rejection.MESSAGE_SIZE);
                            session.sendResponse(
                                    "552 5.3.4 Message size exceeds fixed maximum message size");
                            return;
                        }
                    }
                    case "BODY" -> {
                        switch (v.toUpperCase(Locale.ROOT)) {
                            case "7BIT" -> tx.body = Envelope.BodyType.SEVEN_BIT;
                            case "8BITMIME" -> tx.body = Envelope.BodyType.EIGHT_BIT_MIME;
                            default -> {
                                session.sendResponse(
                                        "555 5.5.4 Unsupported BODY value "
                                                + SmtpPath.printable(v));
                                return;
                            }
                        }
                    }
                    case "SMTPUTF8" -> {
                        if (!v.isEmpty()) {
                            session.sendResponse("501 5.5.4 Error: SMTPUTF8 takes no value");
                            return;
                        }
                        tx.smtpUtf8 = true;
                    }
                    case "RET" -> {
                        switch (v.toUpperCase(Locale.ROOT)) {
                            case "FULL" -> tx.ret = Envelope.Ret.FULL;
                            case "HDRS" -> tx.ret = Envelope.Ret.HDRS;
                            default -> {
                                session.sendResponse("501 5.5.4 Error: RET must be FULL or HDRS");
                                return;
                            }
                        }
                    }
                    case "ENVID" -> {
                        try {
                            tx.envid = XText.decode(v); // RFC 3461 §4.4
                        } catch (IllegalArgumentException e) {
                            session.sendResponse("501 5.5.4 Error: bad ENVID: " + e.getMessage());
                            return;
                        }
                        if (v.length() > 100 || tx.envid.isEmpty()) {
                            session.sendResponse(
                                    "501 5.5.4 Error: ENVID must be 1 to 100 characters");
                            return;
                        }
                    }
                    case "AUTH" -> {
                        // RFC 4954 §5: the submitter's identity; accepted and not passed on.
                    }
                    case "REQUIRETLS" -> {
                        if (!v.isEmpty()) {
                            session.sendResponse("501 5.5.4 Error: REQUIRETLS takes no value");
                            return;
                        }
                        // RFC 8689 §2: REQUIRETLS is specified only in a session that uses TLS (and
                        // is advertised
                        // only there); a client that tries it in clear text is told to start TLS
                        // (RFC 3207 §4 530,
                        // RFC 5248 X.7.10 "Encryption needed").
                        if (!session.isTLSStarted()) {
                            session.sendResponse(
                                    "530 5.7.10 REQUIRETLS needs a TLS session: issue STARTTLS first");
                            return;
                        }
                        tx.requireTls = true;
                    }
                    default -> {
                        session.sendResponse(
                                "555 5.5.4 Unsupported option: " + SmtpPath.printable(p.keyword()));
                        return;
                    }
                }
            }
            if (path.nonAscii() && !tx.smtpUtf8) {
                session.sendResponse(
                        "553 5.6.7 Non-ASCII address needs the SMTPUTF8 parameter (RFC 6531)");
                return;
            }
            session.startMailTransaction();
            Transaction started = transaction(session);
            started.sender = path.mailbox();
            started.body = tx.body;
            started.smtpUtf8 = tx.smtpUtf8;
            started.ret = tx.ret;
            started.envid = tx.envid;
            started.requireTls = tx.requireTls;
            session.sendResponse("250 2.1.0 Ok");
        }
    }

    /** RCPT TO (RFC 5321 §4.1.1.3) with NOTIFY and ORCPT; the relay permission is decided here. */
    static final class Rcpt extends Cmd {
        Rcpt(InboundServer server) {
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
            String a = args.stripLeading();
            if (!a.regionMatches(true, 0, "TO:", 0, 3)) {
                session.sendResponse("501 5.5.4 Syntax: RCPT TO:<address>");
                return;
            }
            SmtpPath path;
            try {
                path = SmtpPath.parse(a.substring(3), false);
            } catch (SmtpPath.SyntaxException e) {
                session.sendResponse("501 5.1.3 Bad recipient address syntax: " + e.getMessage());
                return;
            }
            Set<RecipientStatus.Notify> notify = EnumSet.noneOf(RecipientStatus.Notify.class);
            String orcpt = "";
            Set<String> seen = new HashSet<>();
            for (SmtpPath.Parameter p : path.parameters()) {
                String key = p.keyword().toUpperCase(Locale.ROOT);
                if (!seen.add(key)) {
                    session.sendResponse("501 5.5.4 Error: duplicate parameter " + key);
                    return;
                }
                switch (key) {
                    case "NOTIFY" -> {
                        // RFC 3461 §4.1: NEVER, or any of SUCCESS, FAILURE, DELAY.
                        for (String n : p.value().toUpperCase(Locale.ROOT).split(",", -1)) {
                            try {
                                notify.add(RecipientStatus.Notify.valueOf(n));
                            } catch (IllegalArgumentException e) {
                                session.sendResponse("501 5.5.4 Error: bad NOTIFY value");
                                return;
                            }
                        }
                        if (notify.contains(RecipientStatus.Notify.NEVER) && notify.size() > 1) {
                            session.sendResponse(
                                    "501 5.5.4 Error: NOTIFY=NEVER cannot be combined");
                            return;
                        }
                    }
                    case "ORCPT" -> {
                        // RFC 3461 §4.2: addr-type ";" xtext
                        int semi = p.value().indexOf(';');
                        try {
                            if (semi < 1
                                    || !p.value().substring(0, semi).matches("[A-Za-z0-9-]+")) {
                                throw new IllegalArgumentException("must be addr-type;address");
                            }
                            orcpt =
                                    p.value().substring(0, semi)
                                            + ";"
                                            + XText.decode(p.value().substring(semi + 1));
                        } catch (IllegalArgumentException e) {
                            session.sendResponse("501 5.5.4 Error: bad ORCPT: " + e.getMessage());
                            return;
                        }
                    }
                    default -> {
                        session.sendResponse(
                                "555 5.5.4 Unsupported option: " + SmtpPath.printable(p.keyword()));
                        return;
                    }
                }
            }
            String shown = SmtpPath.printable(path.mailbox());
            if (!state.mayRelay()) {
                // No local mailboxes: without the relay permission no recipient form is accepted
                // (RFC 5321 §7.1).
                LOG.info(
                        "relay denied: client={} helo={} to=<{}>",
                        state.client.getHostAddress(),
                        SmtpPath.printable(session.getHelo().orElse("")),
                        shown);
                server.metrics().rejected(Rejection.RELAY_DENIED);
                session.sendResponse("554 5.7.1 <" + shown + ">: Relay access denied");
                return;
            }
            if (path.sourceRoute()) {
                server.metrics().rejected(Rejection.BAD_RECIPIENT);
                session.sendResponse("550 5.7.1 <" + shown + ">: source routes are not relayed");
                return;
            }
            if (path.addressLiteral()) {
                server.metrics().rejected(Rejection.BAD_RECIPIENT);
                session.sendResponse(
                        "550 5.7.1 <"
                                + shown
                                + ">: address literals are not relayed, use a domain");
                return;
            }
            if (path.domainless()) {
                server.metrics().rejected(Rejection.BAD_RECIPIENT);
                session.sendResponse(
                        "550 5.1.1 <" + shown + ">: this relay has no local mailboxes");
                return;
            }
            if (path.nonAscii() && !tx.smtpUtf8) {
                server.metrics().rejected(Rejection.BAD_RECIPIENT);
                session.sendResponse(
                        "553 5.6.7 Non-ASCII address needs the SMTPUTF8 parameter (RFC 6531)");
                return;
            }
            if (tx.recipients.size() >= server.limits().maxRecipients()) {
                server.metrics().rejected(Rejection.TOO_MANY_RECIPIENTS);
                session.sendResponse("452 4.5.3 Error: too many recipients");
                return;
            }
            if (!tx.hasRecipient(path.mailbox())) {
                tx.recipients.add(new Transaction.Rcpt(path.mailbox(), notify, orcpt));
                session.addRecipient(path.mailbox());
            }
            session.sendResponse("250 2.1.5 Ok");
        }
    }

    // ------------------------------------------------------------------ message

    /** DATA (RFC 5321 §4.1.1.4): stream into the spool, reply only after it is durable. */
    static final class Data extends Cmd {
        private static final DateTimeFormatter DATE =
                DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.US)
                        .withZone(ZoneOffset.UTC);

        Data(InboundServer server) {
            super(server, "DATA", "Send the message, ended by <CR><LF>.<CR><LF>");
        }

        @Override
        void handle(String args, Session session, SessionState state)
                throws IOException, DropConnectionException {
            if (!session.isMailTransactionInProgress()) {
                session.sendResponse("503 5.5.1 Error: need MAIL command");
                return;
            }
            Transaction tx = transaction(session);
            if (tx.recipients.isEmpty()) {
                // RFC 2920 §3.1: with pipelining, DATA after only refused RCPTs gets 554, not 354.
                session.sendResponse(
                        tx.rcptCommands == 0
                                ? "503 5.5.1 Error: need RCPT command"
                                : "554 5.5.1 Error: no valid recipients");
                return;
            }
            if (!args.isBlank()) {
                session.sendResponse("501 5.5.4 Syntax: DATA");
                return;
            }
            Spool.Reception reception;
            try {
                reception = server.spool().receive();
            } catch (IOException e) {
                LOG.error("cannot create a queue file: {}", e.toString());
                server.metrics().rejected(Rejection.QUEUE_ERROR);
                session.sendResponse("451 4.3.0 Error: queue file write error");
                session.resetMailTransaction();
                return;
            }
            String reply;
            try (reception) {
                MDC.put("queueId", reception.id());
                session.sendResponse("354 End data with <CR><LF>.<CR><LF>");
                reply = receive(session, state, tx, reception);
            } finally {
                MDC.remove("queueId");
                session.resetMailTransaction();
                restoreTimeout(session);
            }
            // Sent after the reception is closed: a refused message has left no file behind by
            // then.
            if (!reply.isEmpty()) {
                session.sendResponse(reply);
            }
        }

        private String receive(
                Session session, SessionState state, Transaction tx, Spool.Reception reception)
                throws IOException, DropConnectionException {
            OutputStream body = reception.body();
            IOException writeFailure = null;
            byte[] received = receivedHeader(session, state, tx, reception.id());
            try {
                body.write(received);
            } catch (IOException e) {
                writeFailure = e;
            }
            long deadline = System.nanoTime() + server.limits().dataTimeout().toNanos();
            AcceptSigner.Pass signing = server.signer().begin(reception); // DKIM, before the 250
            TlsRequiredScanner tlsRequired =
                    new TlsRequiredScanner(
                            writeFailure == null
                                    ? signing.content()
                                    : OutputStream.nullOutputStream());
            DataReader.Result r;
            try {
                r =
                        DataReader.read(
                                session.getRawInput(),
                                tlsRequired,
                                server.limits().maxMessageSize().bytes(),
                                server.limits().maxLineLength(),
                                () -> setReadTimeout(session, deadline));
            } catch (SocketTimeoutException e) {
                LOG.info("DATA timeout: client={}", state.client.getHostAddress());
                server.metrics().rejected(Rejection.DATA_TIMEOUT);
                throw new DropConnectionException(
                        421, "4.4.2 " + server.hostname() + " Error: timeout exceeded");
            } catch (EOFException e) {
                LOG.info("connection lost during DATA: client={}", state.client.getHostAddress());
                session.quit();
                return "";
            }
            if (writeFailure == null) {
                writeFailure = r.sinkFailure();
            }
            if (r.bareNewline()) {
                // SMTP smuggling defence, as Postfix's smtpd_forbid_bare_newline: refuse, never
                // normalise.
                LOG.info(
                        "rejected: bare CR or LF in DATA: client={}",
                        state.client.getHostAddress());
                server.metrics().rejected(Rejection.BARE_NEWLINE);
                return "550 5.6.0 Error: bare <CR> or <LF> received; lines must end with <CR><LF>";
            } else if (r.tooBig()) {
                server.metrics().rejected(Rejection.MESSAGE_SIZE);
                return "552 5.3.4 Error: message size exceeds fixed maximum message size";
            } else if (r.lineTooLong()) {
                server.metrics().rejected(Rejection.LINE_LENGTH);
                return "554 5.6.0 Error: message has a line longer than "
                        + server.limits().maxLineLength()
                        + " octets";
            } else if (writeFailure != null) {
                LOG.error("queue file write error: {}", writeFailure.toString());
                server.metrics().rejected(Rejection.QUEUE_ERROR);
                return "451 4.3.0 Error: queue file write error";
            } else {
                Instant now = server.spool().clock().instant();
                List<RecipientStatus> rcpts =
                        tx.recipients.stream()
                                .map(
                                        x ->
                                                RecipientStatus.pending(
                                                        x.address(), x.dsnNotify(), x.orcpt(), now))
                                .toList();
                Envelope env =
                        Envelope.accepted(
                                        reception.id(),
                                        now,
                                        tx.sender,
                                        rcpts,
                                        tx.body,
                                        tx.smtpUtf8,
                                        tx.ret,
                                        tx.envid,
                                        new Envelope.Source(
                                                "smtp",
                                                state.client.getHostAddress(),
                                                SmtpPath.printable(session.getHelo().orElse("")),
                                                state.user,
                                                state.tls))
                                .withTlsRequirement(tx.requireTls, tlsRequired.tlsRequiredNo());
                QueuedMessage m;
                try {
                    signing.finish();
                    m = reception.commit(env);
                } catch (IOException e) {
                    LOG.error("queue file write error: {}", e.toString());
                    server.metrics().rejected(Rejection.QUEUE_ERROR);
                    return "451 4.3.0 Error: queue file write error";
                }
                LOG.info(
                        "queued: from=<{}> size={} nrcpt={} client={}{}",
                        SmtpPath.printable(tx.sender),
                        m.size(),
                        rcpts.size(),
                        state.client.getHostAddress(),
                        state.user.isEmpty() ? "" : " user=" + state.user);
                server.metrics().accepted();
                return "250 2.0.0 Ok: queued as " + m.id();
            }
        }

        /** RFC 5321 §4.4 trace header, with no DNS look-up: the client is named by its HELO and its IP literal. */
        private byte[] receivedHeader(
                Session session, SessionState state, Transaction tx, String id) {
            String ip = state.client.getHostAddress();
            String literal =
                    state.client instanceof java.net.Inet6Address
                            ? "[IPv6:" + ip + "]"
                            : "[" + ip + "]";
            StringBuilder h = new StringBuilder(256);
            h.append("Received: from ")
                    .append(heloForHeader(session.getHelo().orElse("unknown")))
                    .append(" (")
                    .append(literal)
                    .append(")\r\n");
            h.append("\tby ")
                    .append(server.hostname())
                    .append(" (tlsrelay) with ")
                    .append(state.protocol(tx.smtpUtf8))
                    .append(" id ")
                    .append(id);
            if (!state.tls.isEmpty()) {
                h.append("\r\n\t(using ")
                        .append(state.tls.replace(" ", " with cipher "))
                        .append(")");
            }
            if (tx.recipients.size() == 1) {
                h.append("\r\n\tfor <")
                        .append(SmtpPath.printable(tx.recipients.get(0).address()))
                        .append(">");
            }
            h.append(";\r\n\t")
                    .append(DATE.format(server.spool().clock().instant()))
                    .append("\r\n");
            return h.toString().getBytes(StandardCharsets.UTF_8);
        }

        private static String heloForHeader(String helo) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < helo.length() && sb.length() < 255; i++) {
                char c = helo.charAt(i);
                sb.append(c > 32 && c < 127 && c != '(' && c != ')' && c != ';' ? c : '?');
            }
            return sb.length() == 0 ? "unknown" : sb.toString();
        }

        private void setReadTimeout(Session session, long deadline) throws IOException {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                throw new SocketTimeoutException("DATA deadline passed");
            }
            long idle = server.limits().commandTimeout().toMillis();
            session.getSocket()
                    .setSoTimeout(
                            (int) Math.max(1, Math.min(Math.min(left, idle), Integer.MAX_VALUE)));
        }

        private void restoreTimeout(Session session) {
            try {
                Socket s = session.getSocket();
                if (!s.isClosed()) {
                    s.setSoTimeout(
                            (int)
                                    Math.min(
                                            server.limits().commandTimeout().toMillis(),
                                            Integer.MAX_VALUE));
                }
            } catch (IOException e) {
                // the connection is going away anyway
            }
        }
    }

    // ------------------------------------------------------------------ session

    static final class Rset extends Cmd {
        Rset(InboundServer server) {
            super(server, "RSET", "Abort the current mail transaction.");
        }

        @Override
        void handle(String args, Session session, SessionState state) throws IOException {
            session.resetMailTransaction();
            session.sendResponse("250 2.0.0 Ok");
        }
    }

    static final class Noop extends Cmd {
        Noop(InboundServer server) {
            super(server, "NOOP", "Do nothing.");
        }

        @Override
        void handle(String args, Session session, SessionState state) throws IOException {
            session.sendResponse("250 2.0.0 Ok");
        }
    }

    static final class Quit extends Cmd {
        Quit(InboundServer server) {
            super(server, "QUIT", "Close the connection.");
        }

        @Override
        void handle(String args, Session session, SessionState state) throws IOException {
            session.sendResponse("221 2.0.0 Bye");
            session.quit();
        }
    }

    static final class Help extends Cmd {
        Help(InboundServer server) {
            super(server, "HELP", "This help.");
        }

        @Override
        void handle(String args, Session session, SessionState state) throws IOException {
            session.sendResponse("214 2.0.0 See RFC 5321; this is an outbound relay");
        }
    }

    /** Commands we do not offer: address verification (RFC 5321 §7.3), BDAT without CHUNKING, TURN, ETRN. */
    static final class Refused extends Cmd {
        Refused(InboundServer server, String verb) {
            super(server, verb, verb + " is not available.");
        }

        @Override
        void handle(String args, Session session, SessionState state) throws IOException {
            session.sendResponse("502 5.5.1 Error: " + getName() + " command is not available");
        }
    }

    // ------------------------------------------------------------------ security

    /** STARTTLS (RFC 3207) with our own TLS parameters; anything pipelined after it in clear text is discarded. */
    static final class StartTls extends Cmd {
        StartTls(InboundServer server) {
            super(server, "STARTTLS", "Start TLS.");
        }

        @Override
        void handle(String args, Session session, SessionState state) throws IOException {
            if (!server.tlsAvailable()) {
                session.sendResponse("454 4.7.0 TLS not available");
                return;
            }
            if (!args.isBlank()) {
                session.sendResponse("501 5.5.4 Syntax: STARTTLS");
                return;
            }
            if (session.isTLSStarted()) {
                session.sendResponse("503 5.5.1 Error: TLS already active");
                return;
            }
            session.sendResponse("220 2.0.0 Ready to start TLS");
            SSLSocket tls;
            try {
                tls = session.getServer().createSSLSocket(session.getSocket());
                tls.startHandshake();
            } catch (IOException e) {
                // The stream is in an unknown state: never go on reading commands from it.
                LOG.info(
                        "STARTTLS handshake failed: client={}: {}",
                        state.client.getHostAddress(),
                        e.getMessage());
                session.quit();
                return;
            }
            // setSocket makes a new input buffer, so clear text pipelined after STARTTLS is dropped
            // (RFC 3207 §4.2).
            session.setSocket(tls);
            session.resetSmtpProtocol(); // RFC 3207 §4.2: forget everything learned before TLS
            session.setTlsStarted(true);
            state.esmtp = false;
            state.tls = tls.getSession().getProtocol() + " " + tls.getSession().getCipherSuite();
        }
    }

    /** AUTH PLAIN (RFC 4616) and LOGIN, over TLS only (RFC 4954 §4), against bcrypt/PBKDF2 hashes. */
    static final class Auth extends Cmd {
        static final int MAX_FAILURES = 3;

        Auth(InboundServer server) {
            super(server, "AUTH", "AUTH mechanism [initial-response]");
        }

        @Override
        void handle(String args, Session session, SessionState state)
                throws IOException, DropConnectionException {
            if (!server.authAvailable()) {
                session.sendResponse("502 5.5.1 Error: authentication not enabled");
                return;
            }
            if (!session.isTLSStarted()) {
                session.sendResponse(
                        "538 5.7.11 Encryption required for requested authentication mechanism");
                return;
            }
            if (!state.esmtp) {
                session.sendResponse("503 5.5.1 Error: send EHLO first");
                return;
            }
            if (!state.user.isEmpty()) {
                session.sendResponse("503 5.5.1 Error: already authenticated");
                return;
            }
            if (session.isMailTransactionInProgress()) {
                session.sendResponse("503 5.5.1 Error: MAIL transaction in progress");
                return;
            }
            String[] parts = args.trim().split(" +");
            if (parts.length < 1 || parts.length > 2 || parts[0].isEmpty()) {
                session.sendResponse("501 5.5.4 Syntax: AUTH mechanism [initial-response]");
                return;
            }
            String mechanism = parts[0].toUpperCase(Locale.ROOT);
            Optional<String> initial = parts.length == 2 ? Optional.of(parts[1]) : Optional.empty();
            String user;
            char[] password;
            try {
                switch (mechanism) {
                    case "PLAIN" -> {
                        byte[] msg =
                                decode(
                                        initial.isPresent()
                                                ? initial.get()
                                                : challenge(session, ""));
                        // RFC 4616 §2: [authzid] NUL authcid NUL passwd
                        String s = new String(msg, StandardCharsets.UTF_8);
                        String[] f = s.split("\0", -1);
                        if (f.length != 3 || f[1].isEmpty()) {
                            session.sendResponse("501 5.5.2 Error: malformed PLAIN response");
                            return;
                        }
                        if (!f[0].isEmpty() && !f[0].equals(f[1])) {
                            fail(session, state, f[1]); // acting as someone else is not offered
                            return;
                        }
                        user = f[1];
                        password = f[2].toCharArray();
                    }
                    case "LOGIN" -> {
                        user =
                                new String(
                                        decode(
                                                initial.isPresent()
                                                        ? initial.get()
                                                        : challenge(session, "VXNlcm5hbWU6")),
                                        StandardCharsets.UTF_8); // "Username:"
                        password =
                                new String(
                                                decode(
                                                        challenge(
                                                                session,
                                                                "UGFzc3dvcmQ6")), // "Password:"
                                                StandardCharsets.UTF_8)
                                        .toCharArray();
                    }
                    default -> {
                        session.sendResponse(
                                "504 5.5.4 Error: unsupported authentication mechanism");
                        return;
                    }
                }
            } catch (Cancelled e) {
                session.sendResponse("501 5.0.0 Error: authentication aborted");
                return;
            } catch (IllegalArgumentException e) {
                session.sendResponse("501 5.5.2 Error: cannot decode the response");
                return;
            }
            Optional<String> ok = server.credentials().verify(user, password);
            java.util.Arrays.fill(password, '\0');
            if (ok.isEmpty()) {
                fail(session, state, user);
                return;
            }
            state.user = ok.get();
            session.setAuthenticationHandler(new Identity(ok.get()));
            LOG.info("authenticated: user={} client={}", ok.get(), state.client.getHostAddress());
            session.sendResponse("235 2.7.0 Authentication successful");
        }

        private void fail(Session session, SessionState state, String user)
                throws IOException, DropConnectionException {
            state.authFailures++;
            server.metrics().rejected(Rejection.AUTH_FAILED);
            LOG.warn(
                    "authentication failed: user={} client={}",
                    SmtpPath.printable(user),
                    state.client.getHostAddress());
            if (state.authFailures >= MAX_FAILURES) {
                throw new DropConnectionException(
                        421,
                        "4.7.0 " + server.hostname() + " Error: too many failed authentications");
            }
            session.sendResponse("535 5.7.8 Error: authentication failed");
        }

        private static String challenge(Session session, String b64) throws IOException {
            session.sendResponse("334 " + b64);
            String line = session.getReader().readLine();
            if (line == null) {
                throw new EOFException("connection closed during AUTH");
            }
            if (line.trim().equals("*")) {
                throw new Cancelled();
            }
            return line.trim();
        }

        private static byte[] decode(String b64) {
            return b64.equals("=") ? new byte[0] : Base64.getDecoder().decode(b64);
        }

        /** The client sent {@code *} (RFC 4954 §4). */
        private static final class Cancelled extends RuntimeException {
            private static final long serialVersionUID = 1L;

            Cancelled() {
                super(null, null, false, false);
            }
        }

        /** Marks the SubEthaSMTP session as authenticated. */
        private record Identity(String user) implements AuthenticationHandler {
            @Override
            public Optional<String> auth(String clientInput, MessageContext context) {
                return Optional.empty();
            }

            @Override
            public Object getIdentity() {
                return user;
            }
        }
    }
}
