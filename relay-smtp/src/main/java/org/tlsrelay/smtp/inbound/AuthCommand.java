package org.tlsrelay.smtp.inbound;

import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.AuthenticationHandler;
import org.subethamail.smtp.DropConnectionException;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.server.Session;
import org.tlsrelay.core.dns.IpAddresses;
import org.tlsrelay.core.metrics.RelayMetrics.Rejection;

/** AUTH PLAIN (RFC 4616) and LOGIN, over TLS only (RFC 4954 §4), against bcrypt/PBKDF2 hashes. */
final class AuthCommand extends InboundCommand {
    private static final Logger LOG = LoggerFactory.getLogger(AuthCommand.class);
    static final int MAX_FAILURES = 3;

    AuthCommand(CommandContext server) {
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
                            decode(initial.isPresent() ? initial.get() : challenge(session, ""));
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
                    session.sendResponse("504 5.5.4 Error: unsupported authentication mechanism");
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
        LOG.info("authenticated: user={} client={}", ok.get(), IpAddresses.text(state.client));
        session.sendResponse("235 2.7.0 Authentication successful");
    }

    private void fail(Session session, SessionState state, String user)
            throws IOException, DropConnectionException {
        state.authFailures++;
        server.metrics().rejected(Rejection.AUTH_FAILED);
        LOG.warn(
                "authentication failed: user={} client={}",
                SmtpPath.printable(user),
                IpAddresses.text(state.client));
        if (state.authFailures >= MAX_FAILURES) {
            throw new DropConnectionException(
                    421, "4.7.0 " + server.hostname() + " Error: too many failed authentications");
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
