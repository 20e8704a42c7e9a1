package org.tlsrelay.smtp.inbound;

import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.metrics.RelayMetrics;

/**
 * The listening socket SubEthaSMTP accepts from. A connection it may not take is answered here, in the accepting
 * thread, and closed without ever becoming a session: {@code 421 4.7.0} when {@code max-connections} or the client's
 * {@code max-connections-per-client} is reached ({@link ClientSlots}), {@code 421 4.3.2} once the server is stopping.
 * The others get a {@link ConnectionGuard} and reach SubEthaSMTP as a {@link GuardedSocket}. Accepted sockets get
 * TCP_NODELAY: SubEthaSMTP writes each reply separately, and with Nagle's algorithm the second of three pipelined
 * replies (RFC 2920) waits for the client's delayed ACK, about 40 ms per message.
 */
final class Listener extends ServerSocket {
    private static final Logger LOG = LoggerFactory.getLogger(Listener.class);
    private static final long MINUTE = 60_000_000_000L;

    /** Makes the guard of an admitted connection. */
    @FunctionalInterface
    interface Guards {
        ConnectionGuard guard(Socket raw, ClientSlots.Slot slot);
    }

    /** What admits and guards connections; set once by {@link #serve}, before the server accepts. */
    private record Serving(
            ClientSlots slots, Guards guards, RelayMetrics metrics, String hostname) {}

    private final Map<String, AtomicLong> lastLogged = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> quiet = new ConcurrentHashMap<>();
    private volatile Serving serving;
    private volatile boolean draining;

    /** Unbound: SubEthaSMTP binds it at start, or {@link InboundServer#bind} does before. */
    Listener() throws IOException {
        super();
    }

    /** Admits connections through {@code slots} and guards each admitted one. */
    void serve(ClientSlots slots, Guards guards, RelayMetrics metrics, String hostname) {
        this.serving = new Serving(slots, guards, metrics, hostname);
    }

    /** SubEthaSMTP binds the socket it is given; one {@link InboundServer#bind} bound stays as it is. */
    @Override
    public void bind(SocketAddress endpoint, int backlog) throws IOException {
        if (!isBound()) {
            super.bind(endpoint, backlog);
        }
    }

    /** From now on, new connections get {@code 421 4.3.2} and are closed. */
    void drain() {
        draining = true;
    }

    @Override
    public Socket accept() throws IOException {
        while (true) {
            Socket raw = super.accept();
            try {
                raw.setTcpNoDelay(true);
            } catch (IOException e) {
                // the client is gone already; the session will see it
            }
            Serving on = serving;
            if (draining) {
                refuse(raw, "421 4.3.2 " + on.hostname() + " Service shutting down");
                continue;
            }
            ClientSlots.Admission a = on.slots().admit(raw.getInetAddress());
            if (a instanceof ClientSlots.Admission.Refused r) {
                on.metrics().rejected(r.reason());
                note(r.reason().label(), raw, r.why());
                refuse(raw, r.reply());
                continue;
            }
            ClientSlots.Slot slot = ((ClientSlots.Admission.Admitted) a).slot();
            try {
                return new GuardedSocket(raw, on.guards().guard(raw, slot));
            } catch (IOException | RuntimeException e) {
                slot.release();
                close(raw);
                throw e;
            }
        }
    }

    /**
     * The reply fits in the empty send buffer of a new connection, so this never blocks the accepting thread; a
     * client that already closed or reset is simply gone.
     */
    private static void refuse(Socket raw, String reply) {
        try {
            OutputStream o = raw.getOutputStream();
            o.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
            o.flush();
        } catch (IOException e) {
            // nothing to tell a client that is gone
        }
        close(raw);
    }

    private static void close(Socket raw) {
        try {
            raw.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    /** One INFO line per reason and minute, with how many were refused quietly since the last one. */
    private void note(String reason, Socket raw, String why) {
        long now = System.nanoTime();
        AtomicLong last = lastLogged.computeIfAbsent(reason, r -> new AtomicLong(now - MINUTE));
        AtomicLong count = quiet.computeIfAbsent(reason, r -> new AtomicLong());
        long prev = last.get();
        if (now - prev >= MINUTE && last.compareAndSet(prev, now)) {
            long more = count.getAndSet(0);
            LOG.info(
                    "refused connection from [{}]: {}{}",
                    raw.getInetAddress().getHostAddress(),
                    why,
                    more == 0
                            ? ""
                            : " (" + more + " more refused for this reason in the last minute)");
        } else {
            count.incrementAndGet();
        }
    }
}
