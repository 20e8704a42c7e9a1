package org.tlsrelay.smtp.handover;

import java.time.Duration;
import java.util.Objects;
import javax.net.ssl.X509TrustManager;

/**
 * The relay a drain hands messages over to, and how.
 *
 * @param host the host name or address as given ({@code --to HOST:PORT}); a verified certificate must name it
 * @param port its SMTP port
 * @param heloName the name this side gives in EHLO
 * @param credentials AUTH user and password; {@link Credentials#NONE} for none
 * @param certificates how the other relay's certificate is checked
 * @param timeout for connecting and for each reply
 */
public record HandOverTarget(
        String host,
        int port,
        String heloName,
        Credentials credentials,
        CertificateCheck certificates,
        Duration timeout) {

    public HandOverTarget {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(heloName, "heloName");
        Objects.requireNonNull(credentials, "credentials");
        Objects.requireNonNull(certificates, "certificates");
        Objects.requireNonNull(timeout, "timeout");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is not a port number (1-65535)");
        }
    }

    /** {@code host:port}, IPv6 addresses in brackets, as the journal and the log name it. */
    public String label() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    /**
     * AUTH PLAIN or LOGIN (RFC 4954) with this user and password, only ever after STARTTLS.
     *
     * @param user empty for no AUTH
     * @param password the password; never printed
     */
    public record Credentials(String user, String password) {
        public static final Credentials NONE = new Credentials("", "");

        public Credentials {
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(password, "password");
        }

        public boolean present() {
            return !user.isEmpty();
        }

        @Override
        public String toString() {
            return present() ? "user " + user : "no AUTH";
        }
    }

    /**
     * How the other relay's certificate is checked. {@link Opportunistic} (the default, as between replicas inside one
     * cluster): STARTTLS whenever offered, any certificate, so the traffic is encrypted against a passive observer.
     * {@link Verified}: STARTTLS is required and the certificate must chain to the trust anchors and name the host.
     */
    public sealed interface CertificateCheck {
        /** STARTTLS when offered; the certificate is not checked. */
        record Opportunistic() implements CertificateCheck {}

        /** STARTTLS required; the certificate must chain to {@code trust} and name the host. */
        record Verified(X509TrustManager trust) implements CertificateCheck {
            public Verified {
                Objects.requireNonNull(trust, "trust");
            }
        }

        CertificateCheck OPPORTUNISTIC = new Opportunistic();
    }
}
