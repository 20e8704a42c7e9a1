package org.tlsrelay.smtp.outbound;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;
import org.tlsrelay.core.enforce.CertificateValidity;
import org.tlsrelay.core.enforce.PeerCertificate;
import org.tlsrelay.core.enforce.TlsObservation;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.tls.CertificateNames;
import org.tlsrelay.core.tls.TrustMaterial;

/**
 * Outbound TLS that observes instead of aborting. The trust manager never fails a handshake over the certificate: it
 * validates the chain with {@link TrustMaterial}'s PKIX trust manager, notes whether it failed for trust or for time,
 * and lets the handshake finish; the MX name is checked here (RFC 6125 §6.4, DNS-IDs only) and everything goes into a
 * {@link TlsObservation} for the {@code Enforcer} to judge before MAIL FROM.
 *
 * <p>One {@link SSLEngine} per connection, TLS 1.2 or later, with the MX host name as SNI. The engine is created
 * without a peer host and port on purpose: the JDK, and Netty's session cache for BoringSSL, resume cached sessions
 * only for a known host and port, and a resumed session skips the trust manager, so a session first accepted under an
 * opportunistic policy could later be resumed under {@code enforce} without being looked at. The same trust manager
 * observes under either TLS engine ({@link IoEngines.Tls}).
 */
final class TlsInspector {
    private final X509TrustManager pkix;
    private final Set<TrustAnchor> anchors = new HashSet<>();
    private final Set<X509Certificate> anchorCertificates;
    private final Clock clock;
    private final SslContext sslContext;
    private final Map<SSLEngine, ChainCheck> checks = new ConcurrentHashMap<>();

    /** The result of validating a presented chain, kept until the handshake completes. */
    record ChainCheck(
            List<X509Certificate> chain,
            boolean trusted,
            String detail,
            CertificateValidity validity) {
        ChainCheck {
            chain = List.copyOf(chain);
        }

        X509Certificate leaf() {
            return chain.get(0);
        }
    }

    /** With TLS done by {@code engine}: the observations are the same either way. */
    TlsInspector(TrustMaterial trust, Clock clock, IoEngines.Tls engine) {
        this.pkix = trust.trustManager();
        this.anchorCertificates = new HashSet<>(trust.anchors());
        for (X509Certificate anchor : trust.anchors()) {
            anchors.add(new TrustAnchor(anchor, null));
        }
        this.clock = clock;
        try {
            this.sslContext =
                    SslContextBuilder.forClient()
                            .sslProvider(engine.provider())
                            .protocols("TLSv1.3", "TLSv1.2")
                            .trustManager(new ObservingTrustManager())
                            // the name is checked by us, against the MX host, and recorded rather
                            // than enforced here
                            .endpointIdentificationAlgorithm(null)
                            .build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot build the outbound TLS context", e);
        }
    }

    /** A client engine for one connection to {@code mxHost}: SNI set, no session resumption. */
    SSLEngine newEngine(ByteBufAllocator alloc, String mxHost) {
        SSLEngine engine = sslContext.newEngine(alloc);
        SSLParameters params = engine.getSSLParameters();
        try {
            params.setServerNames(List.of(new SNIHostName(mxHost)));
        } catch (IllegalArgumentException e) {
            // not a valid DNS name for SNI (RFC 6066 §3): send none; the name check will still fail
            // or pass on its own
        }
        params.setEndpointIdentificationAlgorithm(null);
        engine.setSSLParameters(params);
        return engine;
    }

    /** The observation for a completed handshake on {@code engine}. */
    TlsObservation established(SSLEngine engine, String mxHost) {
        ChainCheck check = checks.remove(engine);
        if (check == null) {
            return new TlsObservation.HandshakeFailed(
                    "the handshake completed without a server certificate check");
        }
        SSLSession session = engine.getSession();
        PeerCertificate peer = summarise(check.leaf());
        return new TlsObservation.Established(
                session.getProtocol(),
                session.getCipherSuite(),
                check.trusted(),
                check.detail(),
                check.validity(),
                CertificateNames.matches(mxHost, peer.dnsNames()),
                peer,
                check.chain());
    }

    /** Drops what was recorded for an engine whose handshake failed. */
    void forget(SSLEngine engine) {
        checks.remove(engine);
    }

    /**
     * Validates the chain at the current time with the PKIX trust manager. When that fails and the chain is outside
     * its validity period, validates again at a moment inside it, so that "expired" and "not trusted" are told apart
     * (RFC 8460 §4.3.1 has a result type for each).
     */
    ChainCheck inspect(X509Certificate[] chain, String authType) {
        if (chain == null || chain.length == 0) {
            throw new IllegalArgumentException("empty certificate chain");
        }
        List<X509Certificate> path = withoutAnchors(chain);
        Instant now = clock.instant();
        CertificateValidity validity = validity(path, now);
        try {
            pkix.checkServerTrusted(chain, authType);
            return new ChainCheck(List.of(chain), true, "", validity);
        } catch (CertificateException | RuntimeException e) {
            String detail = rootMessage(e);
            if (validity == CertificateValidity.VALID) {
                return new ChainCheck(List.of(chain), false, detail, validity);
            }
            boolean trustedOtherwise =
                    momentInside(path).map(d -> trustedAt(path, d)).orElse(false);
            return new ChainCheck(
                    List.of(chain), trustedOtherwise, trustedOtherwise ? "" : detail, validity);
        }
    }

    private List<X509Certificate> withoutAnchors(X509Certificate[] chain) {
        List<X509Certificate> path = new ArrayList<>();
        for (int i = 0; i < chain.length; i++) {
            // the leaf stays even if it is itself an anchor; a CA certificate sent along is not
            // part of the path
            if (i == 0 || !anchorCertificates.contains(chain[i])) {
                path.add(chain[i]);
            }
        }
        return path;
    }

    private static CertificateValidity validity(Collection<X509Certificate> path, Instant now) {
        CertificateValidity v = CertificateValidity.VALID;
        for (X509Certificate c : path) {
            if (now.isAfter(c.getNotAfter().toInstant())) {
                return CertificateValidity.EXPIRED;
            }
            if (now.isBefore(c.getNotBefore().toInstant())) {
                v = CertificateValidity.NOT_YET_VALID;
            }
        }
        return v;
    }

    /** The latest notBefore of the path, if every certificate of the path is valid at that moment. */
    private static java.util.Optional<Date> momentInside(List<X509Certificate> path) {
        Date from =
                path.stream().map(X509Certificate::getNotBefore).max(Date::compareTo).orElseThrow();
        Date to =
                path.stream().map(X509Certificate::getNotAfter).min(Date::compareTo).orElseThrow();
        return from.after(to) ? java.util.Optional.empty() : java.util.Optional.of(from);
    }

    private boolean trustedAt(List<X509Certificate> path, Date date) {
        try {
            CertPath certPath = CertificateFactory.getInstance("X.509").generateCertPath(path);
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false);
            params.setDate(date);
            CertPathValidator.getInstance("PKIX").validate(certPath, params);
            return true;
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    static PeerCertificate summarise(X509Certificate leaf) {
        List<String> dns = new ArrayList<>();
        List<String> ips = new ArrayList<>();
        try {
            Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    Object type = san.get(0);
                    Object value = san.get(1);
                    if (Integer.valueOf(2).equals(type) && value instanceof String s) {
                        dns.add(s);
                    } else if (Integer.valueOf(7).equals(type) && value instanceof String s) {
                        ips.add(s);
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // an unparsable SAN extension names nothing: the name check fails
        }
        return new PeerCertificate(
                leaf.getSubjectX500Principal().getName(),
                leaf.getIssuerX500Principal().getName(),
                dns,
                ips,
                leaf.getNotBefore().toInstant(),
                leaf.getNotAfter().toInstant());
    }

    static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage();
        return m == null || m.isBlank() ? Problems.describe(root) : m;
    }

    /** Records the server chain's validation for the engine and never fails the handshake over it. */
    private final class ObservingTrustManager extends X509ExtendedTrustManager {
        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            if (chain == null || chain.length == 0) {
                throw new CertificateException("the server sent no certificate");
            }
            checks.put(engine, inspect(chain, authType));
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            throw new CertificateException("only SSLEngine connections are observed");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType)
                throws CertificateException {
            throw new CertificateException("only SSLEngine connections are observed");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            throw new CertificateException("client certificates are not accepted");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            throw new CertificateException("client certificates are not accepted");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType)
                throws CertificateException {
            throw new CertificateException("client certificates are not accepted");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
