package org.tlsrelay.smtp.testmx;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.tlsrelay.testkit.TestCa;

/**
 * A configurable SMTP server on 127.0.0.1 and a port the system picks, one thread per connection, written with plain
 * sockets so that it can misbehave at the byte level. It records every command line and every message it accepts.
 * Build it with {@link #builder()}, close it at the end of the test.
 */
public final class TestMx implements AutoCloseable {

    /** What the server does when the client sends STARTTLS. */
    public enum StartTls {
        /** Not advertised; the command is refused with 502. */
        NOT_OFFERED,
        /** 220, then a TLS handshake with the configured certificate. */
        NORMAL,
        /** Advertised, but answered with a non-220 reply ({@link Builder#startTlsReply}). */
        REJECTED,
        /** 220, then a fatal handshake_failure alert instead of a ServerHello. */
        FAIL_HANDSHAKE,
        /** 220 and plain text in the same write, then a TLS handshake (STARTTLS injection, RFC 3207 §5). */
        INJECT_PLAINTEXT
    }

    /** Where the server stops answering (the connection stays open). */
    public enum Silence {
        NEVER,
        GREETING,
        EHLO,
        MAIL,
        RCPT,
        DATA,
        END_OF_DATA
    }

    /** A message as the server accepted it. */
    public record Received(
            int connection,
            boolean tls,
            String mailFrom,
            List<String> rcptTo,
            byte[] wireData,
            byte[] content) {
        /** The content as text (UTF-8), with CRLF line endings as transmitted. */
        public String text() {
            return new String(content, StandardCharsets.UTF_8);
        }
    }

    /** One TCP connection and the command lines it carried, in order (after STARTTLS too). */
    public record Connection(int index, List<String> commands) {}

    private final Builder config;
    private final ServerSocket server;
    private final Thread acceptor;
    private final List<Connection> connections = new CopyOnWriteArrayList<>();
    private final List<Received> messages = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicInteger inData = new AtomicInteger();
    private final AtomicInteger maxInData = new AtomicInteger();
    private volatile boolean closed;
    private volatile Duration endOfDataDelay = Duration.ZERO;

    private TestMx(Builder config) throws IOException {
        this.config = config;
        this.server =
                new ServerSocket(
                        config.port,
                        50,
                        config.bindAddress != null
                                ? config.bindAddress
                                : InetAddress.getByName("127.0.0.1"));
        this.acceptor = new Thread(this::acceptLoop, "test-mx-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public static Builder builder() {
        return new Builder();
    }

    public InetAddress address() {
        return server.getInetAddress();
    }

    public int port() {
        return server.getLocalPort();
    }

    public List<Connection> connections() {
        return List.copyOf(connections);
    }

    public List<Received> messages() {
        return List.copyOf(messages);
    }

    /**
     * From now on, waits this long before answering the end of data (the message already counts as received, as at
     * an MX that queues before it replies: a client that gives up meanwhile leaves it delivered, RFC 1047).
     */
    public void delayEndOfDataReply(Duration delay) {
        this.endOfDataDelay = delay;
    }

    /**
     * The most mail transactions this MX had in their DATA phase at once (from the 354 to the reply to the end of
     * data, which {@link #delayEndOfDataReply} stretches): how many deliveries ran side by side.
     */
    public int maxConcurrentData() {
        return maxInData.get();
    }

    /** Starts counting {@link #maxConcurrentData} afresh. */
    public void resetMaxConcurrentData() {
        maxInData.set(inData.get());
    }

    /** Every command line of every connection, in order. */
    public List<String> commands() {
        List<String> all = new ArrayList<>();
        for (Connection c : connections) {
            all.addAll(c.commands());
        }
        return all;
    }

    /** Whether any connection sent a command starting with {@code verb} (case-insensitive), e.g. "MAIL FROM". */
    public boolean saw(String verb) {
        String v = verb.toUpperCase(Locale.ROOT);
        return commands().stream().anyMatch(c -> c.toUpperCase(Locale.ROOT).startsWith(v));
    }

    /** Waits (polling, bounded) until {@code condition} holds; fails the test otherwise. */
    public static void await(BooleanSupplier condition, Duration timeout, String what) {
        Instant end = Instant.now().plus(timeout);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(end)) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what, e);
            }
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket s = server.accept();
                sockets.add(s);
                int index = connections.size();
                Connection c = new Connection(index, new CopyOnWriteArrayList<>());
                connections.add(c);
                Thread t = new Thread(() -> serve(s, c), "test-mx-" + port() + "-" + index);
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    // ---- one connection ----

    private final class Session {
        final Connection connection;
        Socket socket;
        LineInput in;
        OutputStream out;
        boolean tls;
        String mailFrom;
        final List<String> rcpts = new ArrayList<>();

        Session(Socket socket, Connection connection) throws IOException {
            this.connection = connection;
            this.socket = socket;
            this.in = new LineInput(socket.getInputStream());
            this.out = new BufferedOutputStream(socket.getOutputStream(), 16 * 1024);
        }

        void reply(String text) throws IOException {
            out.write((text + "\r\n").getBytes(StandardCharsets.UTF_8));
        }

        /** Flushes replies unless more pipelined input waits, as real servers do (RFC 2920 §3.2). */
        void flushUnlessPipelined(boolean groupCommand) throws IOException {
            if (config.holdRepliesUntilData && groupCommand) {
                return;
            }
            if (!in.ready()) {
                out.flush();
            }
        }
    }

    private void serve(Socket socket, Connection connection) {
        try (socket) {
            Session s = new Session(socket, connection);
            if (config.silence == Silence.GREETING) {
                drain(s);
                return;
            }
            s.reply(config.greeting);
            s.out.flush();
            if (!config.greeting.startsWith("2")) {
                s.in.readLine(); // the client's QUIT, if any
                return;
            }
            String line;
            while ((line = s.in.readLine()) != null) {
                connection.commands().add(line);
                String upper = line.toUpperCase(Locale.ROOT);
                if (!handle(s, line, upper)) {
                    return;
                }
            }
        } catch (IOException e) {
            // the client went away, or the handshake failed: the test looks at what was recorded
        }
    }

    /** Handles one command; false ends the connection. */
    private boolean handle(Session s, String line, String upper) throws IOException {
        if (upper.startsWith("EHLO")) {
            if (config.silence == Silence.EHLO) {
                drain(s);
                return false;
            }
            if (config.ehloReply != null) {
                s.reply(config.ehloReply);
                s.out.flush();
                return true;
            }
            List<String> caps = new ArrayList<>();
            caps.add(config.hostname + " greets you");
            if (config.pipelining) {
                caps.add("PIPELINING");
            }
            caps.add("SIZE " + config.size);
            if (config.eightBitMime) {
                caps.add("8BITMIME");
            }
            if (config.smtpUtf8) {
                caps.add("SMTPUTF8");
            }
            if (config.dsn) {
                caps.add("DSN");
            }
            if (config.requireTls && s.tls) {
                caps.add("REQUIRETLS"); // RFC 8689 §2: advertised only over TLS
            }
            caps.add("ENHANCEDSTATUSCODES");
            if (!s.tls && config.startTls != StartTls.NOT_OFFERED) {
                caps.add("STARTTLS");
            }
            for (int i = 0; i < caps.size(); i++) {
                s.reply("250" + (i == caps.size() - 1 ? " " : "-") + caps.get(i));
            }
            s.out.flush();
        } else if (upper.startsWith("HELO")) {
            s.reply("250 " + config.hostname);
            s.out.flush();
        } else if (upper.equals("STARTTLS")) {
            return startTls(s);
        } else if (upper.startsWith("MAIL FROM:")) {
            if (config.silence == Silence.MAIL) {
                drain(s);
                return false;
            }
            s.mailFrom = config.mailReply.startsWith("2") ? line.substring(10).trim() : null;
            s.rcpts.clear();
            s.reply(config.mailReply);
            s.flushUnlessPipelined(true);
        } else if (upper.startsWith("RCPT TO:")) {
            if (config.silence == Silence.RCPT) {
                drain(s);
                return false;
            }
            String param = line.substring(8).trim();
            String address = param.substring(param.indexOf('<') + 1, param.indexOf('>'));
            String reply =
                    config.recipientReplies.getOrDefault(
                            address.toLowerCase(Locale.ROOT), "250 2.1.5 Ok");
            if (reply.startsWith("2") && s.mailFrom != null) {
                s.rcpts.add(param);
            }
            s.reply(s.mailFrom == null ? "503 5.5.1 MAIL first" : reply);
            s.flushUnlessPipelined(true);
        } else if (upper.equals("DATA")) {
            if (config.silence == Silence.DATA) {
                s.out.flush();
                drain(s);
                return false;
            }
            if (s.mailFrom == null || s.rcpts.isEmpty() && !config.dataWithoutRecipients) {
                s.reply("554 5.5.1 No valid recipients");
                s.out.flush();
                return true;
            }
            s.reply("354 End data with <CR><LF>.<CR><LF>");
            s.out.flush();
            maxInData.accumulateAndGet(inData.incrementAndGet(), Math::max);
            try {
                return data(s);
            } finally {
                inData.decrementAndGet();
            }
        } else if (upper.equals("RSET")) {
            s.mailFrom = null;
            s.rcpts.clear();
            s.reply(config.rsetReply);
            s.flushUnlessPipelined(true);
            if (config.rsetReply.startsWith("421")) {
                s.out.flush();
                return false;
            }
        } else if (upper.equals("NOOP")) {
            s.reply("250 2.0.0 Ok");
            s.out.flush();
        } else if (upper.equals("QUIT")) {
            s.reply("221 2.0.0 Bye");
            s.out.flush();
            return false;
        } else {
            s.reply("502 5.5.2 Command not recognised");
            s.out.flush();
        }
        return true;
    }

    private boolean startTls(Session s) throws IOException {
        switch (config.startTls) {
            case NOT_OFFERED -> {
                s.reply("502 5.5.1 STARTTLS not offered");
                s.out.flush();
                return true;
            }
            case REJECTED -> {
                s.reply(config.startTlsReply);
                s.out.flush();
                return true;
            }
            case FAIL_HANDSHAKE -> {
                s.reply("220 2.0.0 Ready to start TLS");
                s.out.flush();
                byte[] hello = new byte[5];
                if (s.in.read(hello) <= 0) {
                    return false;
                }
                // TLS record: alert, TLS 1.2, length 2, fatal, handshake_failure (RFC 8446 §6)
                s.out.write(new byte[] {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28});
                s.out.flush();
                return false;
            }
            case INJECT_PLAINTEXT -> {
                // one write: the 220 and a reply that an attacker wants read as the post-TLS EHLO
                // reply
                s.out.write(
                        ("220 2.0.0 Ready to start TLS\r\n" + config.injected)
                                .getBytes(StandardCharsets.UTF_8));
                s.out.flush();
            }
            case NORMAL -> {
                s.reply("220 2.0.0 Ready to start TLS");
                s.out.flush();
            }
            default -> throw new IllegalStateException();
        }
        SSLSocket ssl =
                (SSLSocket)
                        config.sslContext
                                .getSocketFactory()
                                .createSocket(s.socket, s.in.unread(), true);
        ssl.setUseClientMode(false);
        ssl.startHandshake();
        s.socket = ssl;
        s.in = new LineInput(ssl.getInputStream());
        s.out = new BufferedOutputStream(ssl.getOutputStream(), 16 * 1024);
        s.tls = true;
        s.mailFrom = null;
        s.rcpts.clear();
        return !config.dropAfterTls;
    }

    private boolean data(Session s) throws IOException {
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        String line;
        while ((line = s.in.readLine()) != null) {
            wire.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
            if (line.equals(".")) {
                break;
            }
            // RFC 5321 §4.5.2: a leading dot of a content line was doubled by the client
            String unstuffed = line.startsWith(".") ? line.substring(1) : line;
            content.write((unstuffed + "\r\n").getBytes(StandardCharsets.UTF_8));
        }
        if (line == null) {
            return false;
        }
        messages.add(
                new Received(
                        s.connection.index(),
                        s.tls,
                        s.mailFrom,
                        List.copyOf(s.rcpts),
                        wire.toByteArray(),
                        content.toByteArray()));
        if (config.silence == Silence.END_OF_DATA) {
            drain(s);
            return false;
        }
        if (s.rcpts.isEmpty()) {
            // the 354 came though every recipient was refused (dataWithoutRecipients): nothing to
            // deliver
            s.reply("554 5.5.1 No valid recipients");
            s.out.flush();
            s.mailFrom = null;
            return true;
        }
        long until = System.nanoTime() + endOfDataDelay.toNanos();
        while (!closed && System.nanoTime() < until && !s.socket.isClosed()) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        s.reply(config.dataReply.replace("{n}", Integer.toString(queued.incrementAndGet())));
        s.out.flush();
        s.mailFrom = null;
        s.rcpts.clear();
        return true;
    }

    /** Reads and forgets input until the client goes away. */
    private static void drain(Session s) throws IOException {
        s.out.flush();
        byte[] buf = new byte[4096];
        while (s.in.read(buf) >= 0) {
            // keep reading so that the client is never blocked on writing
        }
    }

    /** Configuration; every default is a polite server without STARTTLS that accepts everything. */
    public static final class Builder {
        private InetAddress bindAddress;
        private int port;
        private String hostname = "mx.test";
        private String greeting;
        private StartTls startTls = StartTls.NOT_OFFERED;
        private TestCa.Issued certificate;
        private SSLContext sslContext;
        private String startTlsReply = "454 4.7.0 TLS not available due to temporary reason";
        private String injected = "250 2.0.0 injected\r\n";
        private boolean pipelining = true;
        private boolean holdRepliesUntilData;
        private boolean eightBitMime = true;
        private boolean smtpUtf8 = true;
        private boolean dsn = true;
        private boolean requireTls;
        private long size = 50L * 1024 * 1024;
        private String ehloReply;
        private String mailReply = "250 2.1.0 Ok";
        private String rsetReply = "250 2.0.0 Ok";
        private String dataReply = "250 2.0.0 Ok: queued as Q{n}";
        private final Map<String, String> recipientReplies = new HashMap<>();
        private Silence silence = Silence.NEVER;
        private boolean dropAfterTls;
        private boolean dataWithoutRecipients;

        /**
         * Listens on another loopback address and a given port (default 127.0.0.1 and a port the system picks): MXs
         * on 127.0.0.2, 127.0.0.3, ... can then share one port, as a relay with one {@code delivery.port} needs.
         */
        public Builder bind(InetAddress address, int listenPort) {
            if (!address.isLoopbackAddress()) {
                throw new IllegalArgumentException(
                        "test MXs listen on loopback only, not " + address);
            }
            this.bindAddress = address;
            this.port = listenPort;
            return this;
        }

        public Builder hostname(String name) {
            this.hostname = name;
            return this;
        }

        /** The greeting line, e.g. {@code 554 5.3.2 no service}; default {@code 220 <hostname> ESMTP}. */
        public Builder greeting(String line) {
            this.greeting = line;
            return this;
        }

        /** Offer STARTTLS and present this certificate (chain: leaf, CA). */
        public Builder startTls(TestCa.Issued certificate) {
            this.certificate = certificate;
            this.startTls = StartTls.NORMAL;
            return this;
        }

        /** How STARTTLS misbehaves; {@link StartTls#INJECT_PLAINTEXT} also needs a certificate. */
        public Builder startTls(StartTls mode) {
            this.startTls = mode;
            return this;
        }

        public Builder startTlsReply(String line) {
            this.startTlsReply = line;
            return this;
        }

        /** The plain text sent right after the STARTTLS 220 in {@link StartTls#INJECT_PLAINTEXT} mode. */
        public Builder injected(String text) {
            this.injected = text;
            return this;
        }

        public Builder pipelining(boolean on) {
            this.pipelining = on;
            return this;
        }

        /**
         * Withholds the replies to RSET, MAIL and RCPT until DATA arrives, as RFC 2920 §3.2 allows: a client that
         * waits for each reply instead of pipelining then stalls.
         */
        public Builder holdRepliesUntilData() {
            this.holdRepliesUntilData = true;
            this.pipelining = true;
            return this;
        }

        public Builder eightBitMime(boolean on) {
            this.eightBitMime = on;
            return this;
        }

        public Builder smtpUtf8(boolean on) {
            this.smtpUtf8 = on;
            return this;
        }

        /** Advertise REQUIRETLS (RFC 8689) in the EHLO reply after STARTTLS; off by default. */
        public Builder requireTls(boolean on) {
            this.requireTls = on;
            return this;
        }

        public Builder dsn(boolean on) {
            this.dsn = on;
            return this;
        }

        public Builder size(long limit) {
            this.size = limit;
            return this;
        }

        /** Answers EHLO with this line instead of the capabilities (HELO still works). */
        public Builder ehloReply(String line) {
            this.ehloReply = line;
            return this;
        }

        public Builder mailReply(String line) {
            this.mailReply = line;
            return this;
        }

        /** The reply to RSET; a 421 also closes the connection (an MX that timed out an idle session). */
        public Builder rsetReply(String line) {
            this.rsetReply = line;
            return this;
        }

        /** The reply to the end of data; {@code {n}} becomes a running number. */
        public Builder dataReply(String line) {
            this.dataReply = line;
            return this;
        }

        /** The reply to RCPT TO for this address, e.g. {@code 450 4.2.1 busy} or {@code 550 5.1.1 unknown}. */
        public Builder recipientReply(String address, String line) {
            recipientReplies.put(address.toLowerCase(Locale.ROOT), line);
            return this;
        }

        /**
         * Answers DATA with 354 even when every RCPT was refused, as a pipelining server may (RFC 2920 §3.1), and the
         * end of that data with 554; the data is kept in {@link #messages()} with no recipient.
         */
        public Builder dataWithoutRecipients() {
            this.dataWithoutRecipients = true;
            return this;
        }

        /** Closes the connection right after a successful TLS handshake, before the second EHLO is answered. */
        public Builder dropAfterTls() {
            this.dropAfterTls = true;
            return this;
        }

        public Builder silentAt(Silence where) {
            this.silence = where;
            return this;
        }

        public TestMx start() throws IOException {
            if (greeting == null) {
                greeting = "220 " + hostname + " ESMTP test";
            }
            if ((startTls == StartTls.NORMAL || startTls == StartTls.INJECT_PLAINTEXT)
                    && certificate == null) {
                throw new IllegalStateException("STARTTLS needs a certificate");
            }
            if (certificate != null) {
                sslContext = certificate.serverContext();
            }
            return new TestMx(this);
        }
    }
}
