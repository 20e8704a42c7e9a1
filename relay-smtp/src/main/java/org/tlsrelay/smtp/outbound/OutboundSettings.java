package org.tlsrelay.smtp.outbound;

import java.time.Duration;
import java.util.Objects;
import org.tlsrelay.core.config.RelayConfig;

/**
 * How the outbound client behaves.
 *
 * @param heloName the EHLO name ({@code delivery.helo-name}, default {@code server.hostname})
 * @param connectTimeout TCP connect time limit ({@code delivery.connect-timeout})
 * @param commandTimeout time limit for each reply, the TLS handshake, and each stall while streaming content
 *     ({@code delivery.command-timeout})
 * @param maxMessagesPerConnection messages one connection carries before it is closed (connection reuse)
 * @param idleTimeout how long an idle connection is kept for reuse
 * @param maxIdlePerTarget idle connections kept per MX address
 * @param ioThreads Netty event-loop threads
 * @param engines what does TLS and moves the bytes: native where it loads ({@link IoEngines#preferred()})
 */
public record OutboundSettings(
        String heloName,
        Duration connectTimeout,
        Duration commandTimeout,
        int maxMessagesPerConnection,
        Duration idleTimeout,
        int maxIdlePerTarget,
        int ioThreads,
        IoEngines engines) {

    /** Postfix keeps a connection 2 s (smtp_connection_cache_time_limit); a little more suits a relay's bursts. */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(5);

    public static final int DEFAULT_MAX_MESSAGES_PER_CONNECTION = 100;
    public static final int DEFAULT_MAX_IDLE_PER_TARGET = 8;

    public OutboundSettings {
        if (heloName.isBlank() || heloName.chars().anyMatch(c -> c <= ' ' || c >= 0x7f)) {
            throw new IllegalArgumentException("invalid EHLO name \"" + heloName + "\"");
        }
        requirePositive(connectTimeout, "connect timeout");
        requirePositive(commandTimeout, "command timeout");
        requirePositive(idleTimeout, "idle timeout");
        if (maxMessagesPerConnection < 1 || maxIdlePerTarget < 0 || ioThreads < 1) {
            throw new IllegalArgumentException("limits must be positive");
        }
        Objects.requireNonNull(engines, "engines");
    }

    /** With the preferred engines: native where they load. */
    public OutboundSettings(
            String heloName,
            Duration connectTimeout,
            Duration commandTimeout,
            int maxMessagesPerConnection,
            Duration idleTimeout,
            int maxIdlePerTarget,
            int ioThreads) {
        this(
                heloName,
                connectTimeout,
                commandTimeout,
                maxMessagesPerConnection,
                idleTimeout,
                maxIdlePerTarget,
                ioThreads,
                IoEngines.preferred());
    }

    public static OutboundSettings from(RelayConfig config) {
        RelayConfig.Delivery d = config.delivery();
        return new OutboundSettings(
                d.heloNameOverride().orElse(config.server().hostname()),
                d.connectTimeout(),
                d.commandTimeout(),
                DEFAULT_MAX_MESSAGES_PER_CONNECTION,
                DEFAULT_IDLE_TIMEOUT,
                DEFAULT_MAX_IDLE_PER_TARGET,
                Runtime.getRuntime().availableProcessors());
    }

    /** Defaults for everything but the EHLO name (tests, tools). */
    public static OutboundSettings defaults(String heloName) {
        return new OutboundSettings(
                heloName,
                Duration.ofSeconds(30),
                Duration.ofMinutes(5),
                DEFAULT_MAX_MESSAGES_PER_CONNECTION,
                DEFAULT_IDLE_TIMEOUT,
                DEFAULT_MAX_IDLE_PER_TARGET,
                Runtime.getRuntime().availableProcessors());
    }

    public OutboundSettings withTimeouts(Duration connect, Duration command) {
        return new OutboundSettings(
                heloName,
                connect,
                command,
                maxMessagesPerConnection,
                idleTimeout,
                maxIdlePerTarget,
                ioThreads,
                engines);
    }

    public OutboundSettings withReuse(int maxMessages, Duration idle, int maxIdle) {
        return new OutboundSettings(
                heloName,
                connectTimeout,
                commandTimeout,
                maxMessages,
                idle,
                maxIdle,
                ioThreads,
                engines);
    }

    /** The same with other engines (tests: the JDK's on a machine where the native ones load). */
    public OutboundSettings withEngines(IoEngines other) {
        return new OutboundSettings(
                heloName,
                connectTimeout,
                commandTimeout,
                maxMessagesPerConnection,
                idleTimeout,
                maxIdlePerTarget,
                ioThreads,
                other);
    }

    private static void requirePositive(Duration d, String name) {
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive");
        }
    }
}
