package org.tlsrelay.smtp.inbound;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.server.Session;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.metrics.RelayMetrics.Rejection;

/**
 * What one client connection may do, enforced where its bytes pass: below SubEthaSMTP's line reader and reply writer,
 * above TLS ({@link GuardedSocket} hands SubEthaSMTP this guard's streams). One guard per connection, for its whole
 * life, STARTTLS included.
 *
 * <ul>
 *   <li>Deadlines: a whole command line within {@code command-timeout} of the previous reply, however it is dribbled
 *   (Postfix's {@code smtpd_per_record_deadline}); during DATA the {@link DataPace}. Each read from the network gets
 *   the time that is left as its socket timeout, so a passed deadline ends the read: SubEthaSMTP then answers
 *   {@code 421} (made {@code 421 4.4.2} by {@link Replies}), DATA its own {@code 421 4.4.2}.</li>
 *   <li>Replies: each reply passes {@link Replies#enhance} on its way out, so SubEthaSMTP's own ones carry an enhanced
 *   code too; 5xx replies are counted, and at {@code max-errors} the session gets {@code 421 4.7.0} and ends (Postfix's
 *   {@code smtpd_hard_error_limit}). A reply that closes ({@code 221}, {@code 421}) is the last thing said: whatever
 *   the client pipelined after it is neither answered nor run.</li>
 *   <li>Stopping ({@link #stop}, {@link #force}): a session waiting for a command is told {@code 421 4.3.2} at once;
 *   one in DATA may finish its message (its end of data is answered 250 or, past the grace, 421) and is told at its
 *   next command.</li>
 *   <li>Writes and the TLS handshake that do not end within {@code command-timeout} (a client that stops reading) are
 *   cut by the server's watchdog ({@link #cutIfStuck}).</li>
 *   <li>A client that goes away is logged once, at INFO, without a stack trace; SubEthaSMTP sees a quiet end of
 *   stream.</li>
 * </ul>
 */
final class ConnectionGuard {
    private static final Logger LOG = LoggerFactory.getLogger(ConnectionGuard.class);

    /** What the guard needs of the server's settings. */
    record Settings(String hostname, Duration commandTimeout, int maxErrors) {}

    /** Why the connection ended, when the guard ended it. */
    enum Ending {
        NONE,
        COMMAND_TIMEOUT,
        DATA_TIMEOUT,
        DATA_RATE,
        TOO_MANY_ERRORS,
        SHUTDOWN,
        CLOSED
    }

    private final InetAddress client;
    private final Settings settings;
    private final ClientSlots.Slot slot;
    private final RelayMetrics metrics;
    private final Runnable onClose;
    private final Socket raw;

    /** Held while a reply is written, so that a 421 from a stopping thread never splits one. */
    private final ReentrantLock writeLock = new ReentrantLock();

    // Guarded by this.
    private long commandDeadline;
    private DataPace pace;
    private boolean waiting;
    private boolean closed;
    private boolean stopping;
    private boolean committing;
    private boolean lost;
    private int errors;
    private Ending ending = Ending.NONE;

    private volatile OutputStream out;
    private volatile Session session;
    private volatile String lastCommand = "CONNECT";
    private volatile long
            blockedSince; // a write or the TLS handshake under way since (nanoTime), or 0

    ConnectionGuard(
            Socket raw,
            ClientSlots.Slot slot,
            Settings settings,
            RelayMetrics metrics,
            Runnable onClose) {
        this.raw = raw;
        this.client = raw.getInetAddress();
        this.slot = slot;
        this.settings = settings;
        this.metrics = metrics;
        this.onClose = onClose;
        this.commandDeadline = System.nanoTime() + settings.commandTimeout().toNanos();
    }

    // ---------------------------------------------------------------- what the session tells us

    void attach(Session s) {
        this.session = s;
    }

    InetAddress client() {
        return client;
    }

    /** {@code EHLO-name[ip]}, Postfix's {@code client=} shape; the name is what the client said in EHLO. */
    String clientName() {
        Session s = session;
        String helo = s == null ? "" : s.getHelo().map(SmtpPath::printable).orElse("");
        String ip = client.getHostAddress();
        return (helo.isEmpty() ? "unknown" : helo) + "[" + ip + "]";
    }

    /** The verb being run, for "lost connection after ..." lines. */
    void command(String verb) {
        lastCommand = verb;
    }

    /** Whether the guard has ended the conversation: nothing more is answered or run. */
    synchronized boolean closed() {
        return closed;
    }

    synchronized Ending ending() {
        return ending;
    }

    /** DATA starts: its reads follow {@code pace} instead of the command deadline. */
    synchronized void enterData(DataPace p) {
        pace = p;
    }

    synchronized void leaveData() {
        pace = null;
    }

    /**
     * The end of data has arrived and the message is about to be committed: false when the session was already told
     * {@code 421} (the stop's grace is over), so the message must not be committed.
     */
    synchronized boolean beginCommit() {
        if (closed) {
            return false;
        }
        committing = true;
        return true;
    }

    synchronized void endCommit() {
        committing = false;
    }

    // ---------------------------------------------------------------- STARTTLS

    /** The TCP socket, to layer TLS on. */
    Socket raw() {
        return raw;
    }

    /** Runs the server side of the TLS handshake within {@code command-timeout} (the watchdog cuts a slow one). */
    void handshake(SSLSocket tls) throws IOException {
        raw.setSoTimeout(millis(settings.commandTimeout().toNanos()));
        blockedSince = System.nanoTime();
        try {
            tls.startHandshake();
        } finally {
            blockedSince = 0;
        }
        synchronized (this) {
            commandDeadline = System.nanoTime() + settings.commandTimeout().toNanos();
        }
    }

    // ---------------------------------------------------------------- stopping

    /**
     * The server stops: a session waiting for a command is told {@code 421 4.3.2} now (on {@code executor}, which
     * may block on a client that reads nothing) and closed; any other is told when it next waits for one.
     */
    void stop(Executor executor) {
        boolean idle;
        synchronized (this) {
            stopping = true;
            idle = waiting && pace == null && !closed;
            if (idle) {
                closed = true;
                ending = Ending.SHUTDOWN;
            }
        }
        if (idle) {
            executor.execute(this::sayShutdownAndClose);
        }
    }

    /**
     * The stop's grace is over: unless a message is being committed (its 250 follows at once), the session is told
     * {@code 421 4.3.2} and closed. Returns false when it is committing.
     */
    boolean force(Executor executor) {
        synchronized (this) {
            stopping = true;
            if (committing) {
                return false;
            }
            if (closed) {
                executor.execute(this::closeRaw);
                return true;
            }
            closed = true;
            ending = Ending.SHUTDOWN;
        }
        executor.execute(this::sayShutdownAndClose);
        return true;
    }

    private void sayShutdownAndClose() {
        try {
            if (writeLock.tryLock(1, TimeUnit.SECONDS)) {
                try {
                    write(shutdownReply());
                } finally {
                    writeLock.unlock();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closeRaw();
        }
    }

    private String shutdownReply() {
        return "421 4.3.2 " + settings.hostname() + " Service shutting down";
    }

    /** Called about once a second: a write or handshake blocked past {@code command-timeout} is cut. */
    void cutIfStuck(long now) {
        long since = blockedSince;
        if (since != 0 && now - since > settings.commandTimeout().toNanos()) {
            LOG.info(
                    "timeout after {} from {}: the client reads nothing",
                    lastCommand,
                    clientName());
            synchronized (this) {
                closed = true;
                ending = Ending.COMMAND_TIMEOUT;
            }
            closeRaw();
        }
    }

    /** Closes the TCP connection (under TLS too: a blocked reader or writer is woken by it). */
    void closeRaw() {
        try {
            raw.close();
        } catch (IOException e) {
            // closing anyway
        }
        slot.release();
        onClose.run();
    }

    // ---------------------------------------------------------------- the streams

    /** The input SubEthaSMTP reads from {@code inner} (the socket's, or TLS's). */
    InputStream input(InputStream inner, Socket timeouts) {
        return new Input(inner, timeouts);
    }

    /** The output SubEthaSMTP writes replies to; the latest one is where a stopping 421 goes. */
    OutputStream output(OutputStream inner) {
        out = inner;
        return new Output(inner);
    }

    private final class Input extends InputStream {
        private final InputStream in;
        private final Socket timeouts;

        Input(InputStream in, Socket timeouts) {
            this.in = in;
            this.timeouts = timeouts;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            boolean sayShutdown;
            synchronized (ConnectionGuard.this) {
                if (closed) {
                    return -1;
                }
                sayShutdown = stopping && pace == null;
                if (sayShutdown) {
                    closed = true;
                    ending = Ending.SHUTDOWN;
                } else {
                    waiting = true;
                }
            }
            if (sayShutdown) {
                sayShutdown();
                return -1;
            }
            try {
                return readWithinDeadline(b, off, len);
            } finally {
                synchronized (ConnectionGuard.this) {
                    waiting = false;
                }
            }
        }

        private int readWithinDeadline(byte[] b, int off, int len) throws IOException {
            while (true) {
                long now = System.nanoTime();
                long left;
                Ending onExpiry;
                synchronized (ConnectionGuard.this) {
                    if (pace != null) {
                        left = pace.remaining(now);
                        onExpiry =
                                pace.binding() == DataPace.Limit.RATE
                                        ? Ending.DATA_RATE
                                        : Ending.DATA_TIMEOUT;
                    } else {
                        left = commandDeadline - now;
                        onExpiry = Ending.COMMAND_TIMEOUT;
                    }
                }
                if (left <= 0) {
                    expired(onExpiry);
                    throw new SocketTimeoutException("deadline passed: " + onExpiry);
                }
                int n;
                try {
                    timeouts.setSoTimeout(millis(left));
                    n = in.read(b, off, len);
                } catch (SocketTimeoutException e) {
                    continue; // the deadline is checked again (and has passed)
                } catch (IOException e) {
                    if (closed()) {
                        return -1;
                    }
                    lost(e.getMessage());
                    throw new SocketException("connection lost: " + e.getMessage());
                }
                synchronized (ConnectionGuard.this) {
                    if (closed) {
                        return -1; // the connection was ended while the bytes were on the way
                    }
                    if (n < 0) {
                        closed = true;
                        ending = Ending.CLOSED;
                    } else if (pace != null) {
                        pace.received(n, System.nanoTime());
                    }
                }
                if (n < 0) {
                    lost("");
                }
                return n;
            }
        }

        @Override
        public int available() throws IOException {
            return closed() ? 0 : in.available();
        }

        @Override
        public void close() {
            closeRaw();
        }
    }

    private final class Output extends OutputStream {
        private final OutputStream inner;
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream(256);

        Output(OutputStream inner) {
            this.inner = inner;
        }

        @Override
        public void write(int b) {
            pending.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            pending.write(b, off, len);
        }

        /** SubEthaSMTP flushes after each reply: the reply goes out here, whole. */
        @Override
        public void flush() {
            if (pending.size() == 0) {
                return;
            }
            String text = pending.toString(StandardCharsets.UTF_8);
            pending.reset();
            if (text.endsWith("\r\n")) {
                text = text.substring(0, text.length() - 2);
            }
            reply(inner, text);
        }

        @Override
        public void close() {
            flush();
            closeRaw();
        }
    }

    /** One reply on its way out: made ours, counted, written whole; the last one of a session ends it. */
    private void reply(OutputStream inner, String text) {
        if (Replies.unknownCommand(text)) {
            lastCommand = "UNKNOWN"; // as Postfix logs it
        }
        String reply = Replies.enhance(text, settings.hostname());
        int code = Replies.code(reply);
        writeLock.lock();
        try {
            boolean tooMany;
            synchronized (this) {
                if (closed) {
                    return; // said after the session ended (pipelined after a 421, say): not sent
                }
                if (code >= 500) {
                    errors++;
                }
                tooMany = errors >= settings.maxErrors() && code != 421 && code != 221;
                if (code == 421 || code == 221 || tooMany) {
                    closed = true;
                    if (tooMany) {
                        ending = Ending.TOO_MANY_ERRORS;
                    }
                }
                commandDeadline = System.nanoTime() + settings.commandTimeout().toNanos();
            }
            blockedSince = System.nanoTime();
            try {
                inner.write((reply + "\r\n").getBytes(StandardCharsets.UTF_8));
                if (tooMany) {
                    LOG.info("too many errors after {} from {}", lastCommand, clientName());
                    metrics.rejected(Rejection.TOO_MANY_ERRORS);
                    inner.write(
                            ("421 4.7.0 " + settings.hostname() + " Error: too many errors\r\n")
                                    .getBytes(StandardCharsets.US_ASCII));
                }
                inner.flush();
            } catch (IOException e) {
                synchronized (this) {
                    closed = true;
                }
                lost(e.getMessage());
            } finally {
                blockedSince = 0;
            }
        } finally {
            writeLock.unlock();
        }
    }

    /** The session thread found the server stopping as it waited for a command. */
    private void sayShutdown() {
        writeLock.lock();
        try {
            write(shutdownReply());
        } finally {
            writeLock.unlock();
        }
    }

    private void write(String line) {
        OutputStream o = out;
        if (o == null) {
            return;
        }
        blockedSince = System.nanoTime();
        try {
            o.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
            o.flush();
        } catch (IOException e) {
            // the client is gone; the connection is closed next anyway
        } finally {
            blockedSince = 0;
        }
    }

    private void expired(Ending why) {
        synchronized (this) {
            ending = why;
        }
        switch (why) {
            case COMMAND_TIMEOUT -> {
                LOG.info("timeout after {} from {}", lastCommand, clientName());
                metrics.rejected(Rejection.COMMAND_TIMEOUT);
            }
            case DATA_RATE -> LOG.info("data too slow after {} from {}", lastCommand, clientName());
            default -> LOG.info("timeout after {} from {}", lastCommand, clientName());
        }
    }

    /** The client went away: one INFO line, no stack trace. */
    private void lost(String detail) {
        synchronized (this) {
            if (lost || ending == Ending.SHUTDOWN) {
                return;
            }
            lost = true;
        }
        Optional<String> d = Optional.ofNullable(detail).filter(s -> !s.isBlank());
        LOG.info(
                "lost connection after {} from {}{}",
                lastCommand,
                clientName(),
                d.map(s -> ": " + s).orElse(""));
    }

    private static int millis(long nanos) {
        long ms = (nanos + 999_999) / 1_000_000;
        return (int) Math.max(1, Math.min(ms, Integer.MAX_VALUE));
    }
}
