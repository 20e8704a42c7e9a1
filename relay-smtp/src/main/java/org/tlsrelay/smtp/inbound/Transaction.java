package org.tlsrelay.smtp.inbound;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.subethamail.smtp.MessageHandler;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.RecipientStatus;

/**
 * One mail transaction (MAIL, RCPT*, DATA), created by SubEthaSMTP when MAIL starts it and dropped on RSET, EHLO,
 * STARTTLS or after DATA. Our commands fill it directly; the {@link MessageHandler} methods exist only because
 * SubEthaSMTP's session needs one.
 */
final class Transaction implements MessageHandler {
    /** A recipient as given, with its RFC 3461 parameters. */
    record Rcpt(String address, Set<RecipientStatus.Notify> dsnNotify, String orcpt) {}

    String sender = "";
    Envelope.BodyType body = Envelope.BodyType.UNSPECIFIED;
    boolean smtpUtf8;
    Envelope.Ret ret = Envelope.Ret.UNSPECIFIED;
    String envid = "";

    /** RFC 8689 §4.1: MAIL FROM carried REQUIRETLS (accepted only over TLS). */
    boolean requireTls;

    final List<Rcpt> recipients = new ArrayList<>();

    /** RCPT commands seen, accepted or not: DATA distinguishes "need RCPT" from "no valid recipients". */
    int rcptCommands;

    boolean hasRecipient(String address) {
        return recipients.stream().anyMatch(r -> r.address().equals(address));
    }

    @Override
    public void from(String from) {
        sender = from;
    }

    @Override
    public void recipient(String recipientAddress) {
        recipients.add(new Rcpt(recipientAddress, Set.of(), ""));
    }

    @Override
    public String data(InputStream data) {
        throw new UnsupportedOperationException(
                "DATA is handled by DataCommand, which reads the stream itself");
    }

    @Override
    public void done() {
        // Nothing is held open between commands: the spool file exists only inside DATA.
    }
}
