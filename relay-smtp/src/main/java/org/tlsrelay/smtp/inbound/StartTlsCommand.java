package org.tlsrelay.smtp.inbound;

import java.io.IOException;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.server.Session;
import org.tlsrelay.core.dns.IpAddresses;

/** STARTTLS (RFC 3207) with our own TLS parameters; anything pipelined after it in clear text is discarded. */
final class StartTlsCommand extends InboundCommand {
    private static final Logger LOG = LoggerFactory.getLogger(StartTlsCommand.class);

    StartTlsCommand(CommandContext server) {
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
            // Over the TCP socket itself, below the guard: the guard's streams carry plain text.
            tls = session.getServer().createSSLSocket(state.guard.raw());
            state.guard.handshake(tls);
        } catch (IOException e) {
            // The stream is in an unknown state: never go on reading commands from it.
            LOG.info(
                    "STARTTLS handshake failed: client={}: {}",
                    IpAddresses.text(state.client),
                    e.getMessage());
            session.quit();
            return;
        }
        // setSocket makes a new input buffer, so clear text pipelined after STARTTLS is dropped
        // (RFC 3207 §4.2).
        session.setSocket(new GuardedSocket(tls, state.guard));
        session.resetSmtpProtocol(); // RFC 3207 §4.2: forget everything learned before TLS
        session.setTlsStarted(true);
        state.esmtp = false;
        state.tls = tls.getSession().getProtocol() + " " + tls.getSession().getCipherSuite();
    }
}
