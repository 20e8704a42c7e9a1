package org.tlsrelay.smtp.outbound;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.util.Locale;
import java.util.Optional;

/**
 * What carries outbound connections: TLS in BoringSSL (netty-tcnative) or in the JDK, sockets through Linux epoll or
 * Java NIO. The native ones cost less CPU per message; the JDK's work everywhere. Either way the client observes the
 * same things (chain, names, validity) and {@link org.tlsrelay.core.enforce.Enforcer} decides the same.
 *
 * <p>{@link #preferred()} takes the native ones where their libraries load (Linux x86-64; they unpack into {@code
 * java.io.tmpdir}, or {@code io.netty.native.workdir}, which must be writable and allow executables), the JDK's
 * elsewhere. The system properties {@code tlsrelay.outbound.tls=jdk} and {@code tlsrelay.outbound.transport=nio}
 * choose the JDK's on purpose.
 */
public record IoEngines(Tls tls, Transport transport) {

    /** Who does outbound TLS. */
    public enum Tls {
        BORINGSSL("BoringSSL"),
        JDK("the JDK");

        private final String label;

        Tls(String label) {
            this.label = label;
        }

        SslProvider provider() {
            return this == BORINGSSL ? SslProvider.OPENSSL : SslProvider.JDK;
        }
    }

    /** Who moves the bytes. */
    public enum Transport {
        EPOLL,
        NIO;

        IoHandlerFactory handlers() {
            return this == EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        }

        Class<? extends SocketChannel> channel() {
            return this == EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
        }
    }

    public static final String TLS_PROPERTY = "tlsrelay.outbound.tls";
    public static final String TRANSPORT_PROPERTY = "tlsrelay.outbound.transport";

    /** Refuses a native engine that cannot load here: the caller asked for it by name. */
    public IoEngines {
        if (tls == Tls.BORINGSSL && !OpenSsl.isAvailable()) {
            throw new IllegalArgumentException(
                    "native TLS (BoringSSL) cannot load here: "
                            + why(OpenSsl.unavailabilityCause()));
        }
        if (transport == Transport.EPOLL && !Epoll.isAvailable()) {
            throw new IllegalArgumentException(
                    "the epoll transport cannot load here: " + why(Epoll.unavailabilityCause()));
        }
    }

    /** The JDK's TLS and NIO: what works on every platform. */
    public static IoEngines jdk() {
        return new IoEngines(Tls.JDK, Transport.NIO);
    }

    /** The native engines where they load and the system properties allow them, the JDK's otherwise. */
    public static IoEngines preferred() {
        boolean jdkTls = "jdk".equalsIgnoreCase(System.getProperty(TLS_PROPERTY, ""));
        boolean nio = "nio".equalsIgnoreCase(System.getProperty(TRANSPORT_PROPERTY, ""));
        return new IoEngines(
                !jdkTls && OpenSsl.isAvailable() ? Tls.BORINGSSL : Tls.JDK,
                !nio && Epoll.isAvailable() ? Transport.EPOLL : Transport.NIO);
    }

    /** Why a native engine was not taken although the system properties allow it; empty when none is missing. */
    public Optional<String> fallback() {
        StringBuilder why = new StringBuilder();
        if (tls == Tls.JDK
                && !"jdk".equalsIgnoreCase(System.getProperty(TLS_PROPERTY, ""))
                && !OpenSsl.isAvailable()) {
            why.append("BoringSSL did not load: ").append(why(OpenSsl.unavailabilityCause()));
        }
        if (transport == Transport.NIO
                && !"nio".equalsIgnoreCase(System.getProperty(TRANSPORT_PROPERTY, ""))
                && !Epoll.isAvailable()) {
            why.append(why.length() > 0 ? "; " : "")
                    .append("epoll did not load: ")
                    .append(why(Epoll.unavailabilityCause()));
        }
        return why.length() == 0 ? Optional.empty() : Optional.of(why.toString());
    }

    /** For the start-up log: {@code TLS by BoringSSL, epoll}. */
    public String describe() {
        return "TLS by " + tls.label + ", " + transport.name().toLowerCase(Locale.ROOT);
    }

    private static String why(Throwable cause) {
        if (cause == null) {
            return "not available on this platform";
        }
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? "no reason given" : root.getMessage();
    }
}
