package org.tlsrelay.smtp.outbound;

/** Where in the SMTP conversation (RFC 5321 §3) an attempt stopped. */
public enum Stage {
    CONNECT,
    GREETING,
    EHLO,
    STARTTLS,
    /** MAIL FROM, or the whole RFC 2920 command group when pipelining. */
    MAIL,
    RCPT,
    DATA,
    /** Streaming the content. */
    CONTENT,
    /** The final dot was sent and its reply did not come: the MX may have the message (RFC 1047). */
    END_OF_DATA
}
