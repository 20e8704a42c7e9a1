package org.tlsrelay.smtp.inbound;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.tlsrelay.core.config.Network;
import org.tlsrelay.core.metrics.RelayMetrics.Rejection;

/**
 * The listener's connection slots: {@code max-connections} in all, and {@code max-connections-per-client} for each
 * client address (as Postfix's {@code smtpd_client_connection_count_limit}, 50 by default), so that one client cannot
 * take every slot. Clients in {@code server.networks} count like everyone else; only {@code exempt-networks} do not
 * count against the per-client limit (they still count in the total). Addresses are counted one by one, IPv6 ones
 * too.
 */
final class ClientSlots {
    /** The answer to a new connection. */
    sealed interface Admission {
        /** A slot, to {@link Slot#release()} when the connection ends. */
        record Admitted(Slot slot) implements Admission {}

        /** No slot: the reply to send before closing, and what to count. */
        record Refused(String reply, Rejection reason, String why) implements Admission {}
    }

    /** One connection's slot; released once, however often {@link #release()} is called. */
    final class Slot {
        private final InetAddress client;
        private final boolean counted;
        private final AtomicBoolean released = new AtomicBoolean();

        private Slot(InetAddress client, boolean counted) {
            this.client = client;
            this.counted = counted;
        }

        void release() {
            if (released.compareAndSet(false, true)) {
                free(client, counted);
            }
        }
    }

    private final int total;
    private final int perClient;
    private final List<Network> exempt;
    private final String hostname;
    private final Map<InetAddress, Integer> byClient = new HashMap<>();
    private int open;

    ClientSlots(int total, int perClient, List<Network> exempt, String hostname) {
        this.total = total;
        this.perClient = perClient;
        this.exempt = List.copyOf(exempt);
        this.hostname = hostname;
    }

    synchronized Admission admit(InetAddress client) {
        if (open >= total) {
            return new Admission.Refused(
                    "421 4.7.0 " + hostname + " Error: too many connections, try again later",
                    Rejection.TOO_MANY_CONNECTIONS,
                    "all " + total + " connections (server.limits.max-connections) are in use");
        }
        boolean counted = exempt.stream().noneMatch(n -> n.contains(client));
        if (counted) {
            int mine = byClient.getOrDefault(client, 0);
            if (mine >= perClient) {
                return new Admission.Refused(
                        "421 4.7.0 "
                                + hostname
                                + " Error: too many connections from "
                                + client.getHostAddress()
                                + ", try again later",
                        Rejection.TOO_MANY_CONNECTIONS_PER_CLIENT,
                        "this client holds "
                                + mine
                                + " connections (server.limits.max-connections-per-client)");
            }
            byClient.put(client, mine + 1);
        }
        open++;
        return new Admission.Admitted(new Slot(client, counted));
    }

    /** Connections open now. */
    synchronized int open() {
        return open;
    }

    /** Connections {@code client} holds now. */
    synchronized int openFrom(InetAddress client) {
        return byClient.getOrDefault(client, 0);
    }

    private synchronized void free(InetAddress client, boolean counted) {
        open--;
        if (counted) {
            byClient.computeIfPresent(client, (c, n) -> n <= 1 ? null : n - 1);
        }
    }
}
