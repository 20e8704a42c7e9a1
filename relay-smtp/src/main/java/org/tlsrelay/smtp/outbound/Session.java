package org.tlsrelay.smtp.outbound;

import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.tlsrelay.core.dns.IpAddresses;
import org.tlsrelay.core.enforce.TlsObservation;

/**
 * A connection that is greeted, past EHLO and past STARTTLS (or not): what can be reused for the next message to the
 * same MX address. Its fields are touched on its event loop only, except {@link #idle}.
 */
final class Session {
    final DeliveryTarget target;
    final SmtpConnection connection;
    final SmtpReply greeting;
    final Capabilities capabilities;

    /** What STARTTLS showed; for a clear-text retry after a failed handshake, that failed handshake. */
    final TlsObservation observation;

    final boolean tls;

    /** Policy domains already reported on this connection: one TLS-RPT outcome per connection and domain. */
    final Set<String> reportedDomains = new HashSet<>();

    /** True while the session sits in the pool; whoever flips it to false owns the session. */
    final AtomicBoolean idle = new AtomicBoolean();

    int messages;
    ScheduledFuture<?> idleTimer;

    /** When it went idle in the pool ({@link System#nanoTime()}): the oldest idle one is closed first for room. */
    volatile long idleSince;

    boolean closeWatched;

    Session(
            DeliveryTarget target,
            SmtpConnection connection,
            SmtpReply greeting,
            Capabilities capabilities,
            TlsObservation observation,
            boolean tls) {
        this.target = target;
        this.connection = connection;
        this.greeting = greeting;
        this.capabilities = capabilities;
        this.observation = observation;
        this.tls = tls;
    }

    /** The same connection state with another observation (the clear-text retry keeps the failed handshake's). */
    Session withObservation(TlsObservation other) {
        return new Session(target, connection, greeting, capabilities, other, tls);
    }

    String localAddress() {
        return connection.channel().localAddress() instanceof InetSocketAddress a
                ? IpAddresses.text(a.getAddress())
                : "";
    }

    /** The first word of the greeting after the code: the name the MX gives itself (RFC 5321 §4.3.1). */
    String mxName() {
        if (greeting.lines().isEmpty()) {
            return "";
        }
        String first = greeting.lines().get(0).trim();
        int sp = first.indexOf(' ');
        return sp < 0 ? first : first.substring(0, sp);
    }
}
