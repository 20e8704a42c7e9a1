package org.tlsrelay.smtp.inbound;

import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.subethamail.smtp.DropConnectionException;
import org.subethamail.smtp.server.Session;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dkim.AcceptSigner;
import org.tlsrelay.core.dns.IpAddresses;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.log.LogLine;
import org.tlsrelay.core.metrics.RelayMetrics.Rejection;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.Spool;

/** DATA (RFC 5321 §4.1.1.4): stream into the spool, reply only after it is durable. */
final class DataCommand extends InboundCommand {
    private static final Logger LOG = LoggerFactory.getLogger(DataCommand.class);
    private static final DateTimeFormatter DATE =
            DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.US)
                    .withZone(ZoneOffset.UTC);

    DataCommand(CommandContext server) {
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
            LOG.error("cannot create a queue file: {}", Problems.describe(e));
            server.metrics().rejected(Rejection.QUEUE_ERROR);
            session.sendResponse("451 4.3.0 Error: queue file write error");
            session.resetMailTransaction();
            return;
        }
        String reply;
        try (reception) {
            MDC.put("queueId", reception.id());
            RelayConfig.Limits limits = server.limits();
            state.guard.enterData(
                    new DataPace(
                            System.nanoTime(),
                            limits.dataTimeout(),
                            limits.commandTimeout(),
                            limits.minDataRate(),
                            limits.minDataRateGrace()));
            session.sendResponse("354 End data with <CR><LF>.<CR><LF>");
            reply = receive(session, state, tx, reception);
        } finally {
            MDC.remove("queueId");
            state.guard.leaveData();
            session.resetMailTransaction();
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
        AcceptSigner.Pass signing = server.signer().begin(reception); // DKIM, before the 250
        HeaderScanner headers =
                new HeaderScanner(
                        writeFailure == null ? signing.content() : OutputStream.nullOutputStream());
        DataReader.Result r;
        try {
            r =
                    DataReader.read(
                            session.getRawInput(),
                            headers,
                            server.limits().maxMessageSize().bytes(),
                            server.limits().maxLineLength());
        } catch (SocketTimeoutException e) {
            // The guard has logged which limit; nothing is queued.
            if (state.guard.ending() == ConnectionGuard.Ending.DATA_RATE) {
                server.metrics().rejected(Rejection.DATA_RATE);
                throw new DropConnectionException(
                        421,
                        "4.4.2 "
                                + server.hostname()
                                + " Error: data arrives too slowly (less than "
                                + server.limits().minDataRate()
                                + " bytes per second)");
            }
            server.metrics().rejected(Rejection.DATA_TIMEOUT);
            throw new DropConnectionException(
                    421, "4.4.2 " + server.hostname() + " Error: timeout exceeded");
        } catch (EOFException | SocketException e) {
            // The client went away (logged by the guard), or the stop's grace ran out (it was
            // told 421): nothing is queued.
            session.quit();
            return "";
        }
        if (writeFailure == null) {
            writeFailure = r.sinkFailure();
        }
        if (r.bareNewline()) {
            // SMTP smuggling defence, as Postfix's smtpd_forbid_bare_newline: refuse, never
            // normalise.
            LOG.info("rejected: bare CR or LF in DATA: client={}", IpAddresses.text(state.client));
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
            LOG.error("queue file write error: {}", Problems.describe(writeFailure));
            server.metrics().rejected(Rejection.QUEUE_ERROR);
            return "451 4.3.0 Error: queue file write error";
        }
        return commit(session, state, tx, reception, signing, headers);
    }

    /**
     * The end of data has arrived and the message is whole: commit, then 250. A stop whose grace ran out before this
     * point has told the client 421 and nothing is committed; once the commit has begun, the stop waits for its 250.
     */
    private String commit(
            Session session,
            SessionState state,
            Transaction tx,
            Spool.Reception reception,
            AcceptSigner.Pass signing,
            HeaderScanner headers) {
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
                                        IpAddresses.text(state.client),
                                        SmtpPath.printable(session.getHelo().orElse("")),
                                        state.user,
                                        state.tls))
                        .withTlsRequirement(tx.requireTls, headers.tlsRequiredNo());
        if (!state.guard.beginCommit()) {
            return "";
        }
        QueuedMessage m;
        try {
            signing.finish();
            m = reception.commit(env);
        } catch (IOException e) {
            LOG.error("queue file write error: {}", Problems.describe(e));
            server.metrics().rejected(Rejection.QUEUE_ERROR);
            return "451 4.3.0 Error: queue file write error";
        } finally {
            state.guard.endCommit();
        }
        accepted(m, state, tx, headers).info(LOG);
        server.metrics().accepted();
        return "250 2.0.0 Ok: queued as " + m.id();
    }

    /**
     * The accept line, in Postfix's shape (issue 13): {@code QUEUEID: client=name[ip], sasl_username=..., tls=...,
     * from=<...>, size=..., nrcpt=..., message-id=<...>}; the name is the client's EHLO name (no DNS look-up is made).
     */
    private static LogLine accepted(
            QueuedMessage m, SessionState state, Transaction tx, HeaderScanner headers) {
        LogLine line =
                LogLine.of(m.id())
                        .add("client", state.guard.clientName())
                        .addIfPresent("sasl_username", state.user)
                        .addIfPresent("tls", state.tls.isEmpty() ? "" : state.tls.split(" ")[0])
                        .path("from", SmtpPath.printable(tx.sender))
                        .add("size", m.size())
                        .add("nrcpt", tx.recipients.size());
        headers.messageId().ifPresent(id -> line.path("message-id", id));
        return line;
    }

    /** RFC 5321 §4.4 trace header, with no DNS look-up: the client is named by its HELO and its IP literal. */
    private byte[] receivedHeader(Session session, SessionState state, Transaction tx, String id) {
        String ip = IpAddresses.text(state.client);
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
            h.append("\r\n\t(using ").append(state.tls.replace(" ", " with cipher ")).append(")");
        }
        if (tx.recipients.size() == 1) {
            h.append("\r\n\tfor <")
                    .append(SmtpPath.printable(tx.recipients.get(0).address()))
                    .append(">");
        }
        h.append(";\r\n\t").append(DATE.format(server.spool().clock().instant())).append("\r\n");
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
}
