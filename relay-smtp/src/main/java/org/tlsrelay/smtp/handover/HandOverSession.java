package org.tlsrelay.smtp.handover;

import jakarta.mail.AuthenticationFailedException;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.URLName;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import javax.net.SocketFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.eclipse.angus.mail.smtp.SMTPSendFailedException;
import org.eclipse.angus.mail.smtp.SMTPTransport;
import org.tlsrelay.core.dns.IpAddresses;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.RecipientStatus;

/**
 * One SMTP session with the other relay, on Angus Mail's {@link SMTPTransport}: it connects, sends EHLO, STARTTLS when
 * offered (required with credentials or a verified certificate: the password never goes in clear), EHLO again, AUTH
 * PLAIN or LOGIN (RFC 4954), then carries one message per {@link #send} as its own transaction, one command at a time,
 * each reply kept as a value.
 *
 * <p>Why Angus and not the relay's Netty {@code OutboundClient}: that client is built for MX delivery under a policy
 * verdict ({@code Enforcer}) and has no AUTH; a drain talks to one next hop the operator names, sequentially, with
 * AUTH, which {@code SMTPTransport} does well. Only the transaction is ours: its MAIL FROM and RCPT TO carry the
 * queued envelope's own parameters per recipient, which {@code sendMessage} cannot.
 */
public final class HandOverSession implements AutoCloseable {
    private final HandOverTarget target;
    private final Transport transport;
    private final SessionFacts facts;
    private boolean dirty;

    private HandOverSession(HandOverTarget target, Transport transport, SessionFacts facts) {
        this.target = target;
        this.transport = transport;
        this.facts = facts;
    }

    /** Connects, greets, STARTTLS and AUTH as the target says; an unusable relay is a {@link HandOverException}. */
    public static HandOverSession open(HandOverTarget target) throws HandOverException {
        boolean verify = target.certificates() instanceof HandOverTarget.CertificateCheck.Verified;
        boolean auth = target.credentials().present();
        Sockets sockets = new Sockets(target);
        Properties p = new Properties();
        String ms = Long.toString(target.timeout().toMillis());
        p.put("mail.smtp.host", target.host());
        p.put("mail.smtp.port", Integer.toString(target.port()));
        p.put("mail.smtp.localhost", target.heloName());
        p.put("mail.smtp.connectiontimeout", ms);
        p.put("mail.smtp.timeout", ms);
        p.put("mail.smtp.socketFactory", sockets.plain);
        p.put("mail.smtp.ssl.socketFactory", sockets.tls);
        p.put(
                "mail.smtp.ssl.checkserveridentity",
                "false"); // the JDK checks it (Sockets), when asked
        p.put("mail.smtp.starttls.enable", "true");
        p.put("mail.smtp.starttls.required", Boolean.toString(verify || auth));
        p.put("mail.smtp.auth", Boolean.toString(auth));
        p.put("mail.smtp.auth.mechanisms", "PLAIN LOGIN");
        p.put("mail.smtp.sasl.enable", "false");
        p.put("mail.smtp.allowutf8", "true"); // UTF-8 addresses as they are (RFC 6531 §3.3)
        p.put("mail.smtp.quitwait", "false"); // a broken session is not held up by its QUIT
        Transport t = new Transport(Session.getInstance(p), target);
        try {
            if (auth) {
                t.connect(
                        target.host(),
                        target.port(),
                        target.credentials().user(),
                        target.credentials().password());
            } else {
                t.connect(target.host(), target.port(), null, null);
            }
        } catch (AuthenticationFailedException e) {
            throw new HandOverException(
                    target.label()
                            + " refused AUTH for user "
                            + target.credentials().user()
                            + ": "
                            + oneLine(e.getMessage())
                            + " (check --auth-user and --password-file)");
        } catch (MessagingException e) {
            throw new HandOverException(connectProblem(target, verify, auth, e));
        }
        Set<String> ext = new HashSet<>();
        for (String k : KEYWORDS) {
            if (t.supportsExtension(k)) {
                ext.add(k);
            }
        }
        if (auth && !ext.contains("AUTH")) {
            closeQuietly(t);
            throw new HandOverException(
                    target.label()
                            + " offers no AUTH after STARTTLS: give this node's address a place in its"
                            + " server.networks, or give it an AUTH user (server.auth.users)");
        }
        long size = 0;
        String sizeParam = t.getExtensionParameter("SIZE");
        if (sizeParam != null && sizeParam.trim().matches("\\d{1,18}")) {
            size = Long.parseLong(sizeParam.trim());
        }
        String tls = "none";
        if (sockets.tlsSocket != null) {
            javax.net.ssl.SSLSession s = sockets.tlsSocket.getSession();
            tls = s.getProtocol() + "/" + s.getCipherSuite();
        }
        String relay = target.host() + "[" + sockets.address() + "]:" + target.port();
        return new HandOverSession(
                target, t, new SessionFacts(relay, tls, verify && !tls.equals("none"), ext, size));
    }

    private static final List<String> KEYWORDS =
            List.of("SIZE", "8BITMIME", "SMTPUTF8", "DSN", "REQUIRETLS", "AUTH", "PIPELINING");

    public SessionFacts facts() {
        return facts;
    }

    /**
     * Hands {@code env}'s pending recipients over, with the content in {@code body} ({@code size} octets) as it was
     * queued: MAIL FROM, one RCPT TO per pending recipient, DATA, the content, the end of data. Any reply other than
     * the expected one ends the transaction ({@code RSET}) with the message still here.
     *
     * @throws IOException when the content cannot be read here: then nothing was sent for it
     */
    public Transfer send(Envelope env, Path body, long size) throws IOException {
        String stage = "MAIL FROM";
        InputStream content =
                Files.newInputStream(body); // before any command: a local problem sends nothing
        try (content) {
            if (dirty) {
                transport.simpleCommand("RSET");
                dirty = false;
            }
            dirty = true;
            int code = transport.simpleCommand(EnvelopeCommands.mailFrom(env, size, facts));
            if (code != 250) {
                return refusedOrBroken(stage, code);
            }
            stage = "RCPT TO";
            List<String> accepted = new ArrayList<>();
            List<Transfer.Refusal> refused = new ArrayList<>();
            for (RecipientStatus r : env.pending()) {
                code = transport.simpleCommand(EnvelopeCommands.rcptTo(r, facts));
                if (code == 250 || code == 251) {
                    accepted.add(r.address());
                } else if (code < 200) {
                    return broken(stage, false);
                } else {
                    refused.add(new Transfer.Refusal(r.address(), reply()));
                }
            }
            if (accepted.isEmpty()) {
                return new Transfer.Refused(stage, refused.get(0).reply(), refused);
            }
            stage = "DATA";
            OutputStream out = transport.openData();
            stage = "the content";
            content.transferTo(out);
            stage = "end of data";
            transport.endData();
            dirty = false;
            return new Transfer.Accepted(reply(), accepted, refused);
        } catch (SMTPSendFailedException e) {
            // DATA or the end of data answered with another code than 354 / 250
            return refusedOrBroken(stage, e.getReturnCode());
        } catch (MessagingException | IOException | IllegalStateException e) {
            return new Transfer.Broken(
                    "the connection to "
                            + facts.relay()
                            + " failed at "
                            + stage
                            + ": "
                            + Problems.describe(e),
                    stage.equals("end of data"));
        }
    }

    private Transfer refusedOrBroken(String stage, int code) {
        if (code < 200) {
            return broken(stage, stage.equals("end of data"));
        }
        return new Transfer.Refused(stage, reply(), List.of());
    }

    private Transfer broken(String stage, boolean afterEndOfData) {
        return new Transfer.Broken(
                facts.relay()
                        + " closed the connection or did not answer at "
                        + stage
                        + (transport.getLastServerResponse() == null
                                ? ""
                                : " (" + oneLine(transport.getLastServerResponse()) + ")"),
                afterEndOfData);
    }

    /** The last reply as one line. */
    private String reply() {
        return oneLine(transport.getLastServerResponse());
    }

    /**
     * A reply as one printable line, at most {@value #MAX_REPLY} characters: it goes into the log, the journal and the
     * envelope, and comes from the network (a CR LF and a forged line, or terminal escapes, become {@code ?}).
     */
    static String oneLine(String text) {
        if (text == null) {
            return "";
        }
        String line = String.join(" ", text.strip().split("\\s*\\r?\\n\\s*"));
        StringBuilder b = new StringBuilder(Math.min(line.length(), MAX_REPLY));
        for (int i = 0; i < line.length() && b.length() < MAX_REPLY; i++) {
            char c = line.charAt(i);
            b.append(c < 0x20 || (c >= 0x7f && c < 0xa0) ? '?' : c);
        }
        return line.length() > MAX_REPLY ? b + "..." : b.toString();
    }

    static final int MAX_REPLY = 512;

    /** QUIT and close. */
    @Override
    public void close() {
        closeQuietly(transport);
    }

    private static void closeQuietly(SMTPTransport t) {
        try {
            t.close();
        } catch (MessagingException e) {
            // the connection is going away anyway
        }
    }

    /** What went wrong before the session could carry a message, in words, with what to do. */
    private static String connectProblem(
            HandOverTarget target, boolean verify, boolean auth, MessagingException e) {
        String text = e.getMessage() == null ? "" : e.getMessage();
        if (text.contains("STARTTLS is required")) {
            return target.label()
                    + " offers no STARTTLS"
                    + (auth
                            ? ": the password for "
                                    + target.credentials().user()
                                    + " is never sent in clear text. Configure server.tls on that relay,"
                                    + " or drain without --auth-user from an address in its"
                                    + " server.networks"
                            : ", which a verified certificate (--tls-verify, --ca-file) needs");
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof SSLHandshakeException h) {
                return "TLS with "
                        + target.label()
                        + " failed: "
                        + Problems.describe(h)
                        + (verify
                                ? " (the certificate must chain to --ca-file or the system's CAs and"
                                        + " name "
                                        + target.host()
                                        + ")"
                                : "");
            }
        }
        Throwable cause = e.getCause() != null ? e.getCause() : e;
        return "cannot connect to " + target.label() + ": " + Problems.describe(cause);
    }

    /** SMTPTransport with its DATA stream in reach (the transaction is ours: parameters per recipient). */
    private static final class Transport extends SMTPTransport {
        Transport(Session session, HandOverTarget target) {
            super(session, new URLName("smtp", target.host(), target.port(), null, null, null));
        }

        /** DATA; a reply other than 354 is an {@link SMTPSendFailedException}. */
        synchronized OutputStream openData() throws MessagingException {
            return data();
        }

        /** The end of data; a reply other than 250 is an {@link SMTPSendFailedException}. */
        synchronized void endData() throws IOException, MessagingException {
            finishData();
        }
    }

    /**
     * The sockets of the session, each kept for what it shows: the peer's address, and the TLS session after
     * STARTTLS. A verified target gets the JDK's host name check (IP addresses too) and its own trust anchors; an
     * opportunistic one accepts any certificate.
     */
    private static final class Sockets {
        final SocketFactory plain;
        final SSLSocketFactory tls;
        volatile Socket plainSocket;
        volatile SSLSocket tlsSocket;

        Sockets(HandOverTarget target) {
            SSLContext ctx;
            try {
                ctx = SSLContext.getInstance("TLS");
                X509TrustManager trust =
                        target.certificates() instanceof HandOverTarget.CertificateCheck.Verified v
                                ? v.trust()
                                : ANY;
                ctx.init(null, new TrustManager[] {trust}, null);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("no TLS in this JVM", e);
            }
            boolean verify =
                    target.certificates() instanceof HandOverTarget.CertificateCheck.Verified;
            SSLSocketFactory base = ctx.getSocketFactory();
            SocketFactory system = SocketFactory.getDefault();
            this.plain =
                    new SocketFactory() {
                        @Override
                        public Socket createSocket() throws IOException {
                            return seen(system.createSocket());
                        }

                        @Override
                        public Socket createSocket(String host, int port) throws IOException {
                            return seen(system.createSocket(host, port));
                        }

                        @Override
                        public Socket createSocket(
                                String host, int port, InetAddress local, int localPort)
                                throws IOException {
                            return seen(system.createSocket(host, port, local, localPort));
                        }

                        @Override
                        public Socket createSocket(InetAddress host, int port) throws IOException {
                            return seen(system.createSocket(host, port));
                        }

                        @Override
                        public Socket createSocket(
                                InetAddress host, int port, InetAddress local, int localPort)
                                throws IOException {
                            return seen(system.createSocket(host, port, local, localPort));
                        }
                    };
            this.tls =
                    new SSLSocketFactory() {
                        @Override
                        public Socket createSocket(Socket s, String host, int port, boolean close)
                                throws IOException {
                            // STARTTLS: the connected socket, layered
                            SSLSocket ssl =
                                    (SSLSocket) base.createSocket(s, target.host(), port, close);
                            ssl.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
                            if (verify) {
                                SSLParameters params = ssl.getSSLParameters();
                                params.setEndpointIdentificationAlgorithm("HTTPS");
                                ssl.setSSLParameters(params);
                            }
                            tlsSocket = ssl;
                            return ssl;
                        }

                        @Override
                        public String[] getDefaultCipherSuites() {
                            return base.getDefaultCipherSuites();
                        }

                        @Override
                        public String[] getSupportedCipherSuites() {
                            return base.getSupportedCipherSuites();
                        }

                        @Override
                        public Socket createSocket(String host, int port) throws IOException {
                            throw new IOException("implicit TLS is not used: STARTTLS only");
                        }

                        @Override
                        public Socket createSocket(
                                String host, int port, InetAddress local, int localPort)
                                throws IOException {
                            throw new IOException("implicit TLS is not used: STARTTLS only");
                        }

                        @Override
                        public Socket createSocket(InetAddress host, int port) throws IOException {
                            throw new IOException("implicit TLS is not used: STARTTLS only");
                        }

                        @Override
                        public Socket createSocket(
                                InetAddress host, int port, InetAddress local, int localPort)
                                throws IOException {
                            throw new IOException("implicit TLS is not used: STARTTLS only");
                        }
                    };
        }

        private Socket seen(Socket s) throws IOException {
            // one command at a time: without TCP_NODELAY, Nagle's algorithm and the peer's delayed
            // ACK hold
            // each small command back (measured: 100 ms per message on loopback, 10 messages/s)
            s.setTcpNoDelay(true);
            plainSocket = s; // Angus connects it itself: its peer address is read once connected
            return s;
        }

        /** The other relay's address, once connected. */
        String address() {
            Socket s = plainSocket;
            return s == null || s.getInetAddress() == null
                    ? "?"
                    : IpAddresses.text(s.getInetAddress());
        }
    }

    /** Opportunistic TLS (RFC 7435): encrypt, accept whatever certificate the peer has. */
    private static final X509TrustManager ANY =
            new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) {}

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) {}

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            };

    @Override
    public String toString() {
        return "session with " + target.label();
    }
}
