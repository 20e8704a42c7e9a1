package org.tlsrelay.core.tls;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The certificate authorities that outbound TLS trusts ({@code delivery.trust}): the JDK's system CAs, extra PEM CA
 * files, or both. One instance serves MX certificates, MTA-STS policy hosts and policy-list downloads alike.
 */
public final class TrustMaterial {
    private final X509TrustManager trustManager;
    private final List<X509Certificate> anchors;

    private TrustMaterial(X509TrustManager trustManager, List<X509Certificate> anchors) {
        this.trustManager = trustManager;
        this.anchors = List.copyOf(anchors);
    }

    /**
     * Builds the trust of {@code delivery.trust}: the system CAs when {@code system} is true, plus every certificate
     * in the {@code extraCa} PEM files; a missing or malformed CA file is an error naming the file.
     */
    public static TrustMaterial from(boolean system, List<Path> extraCa) throws IOException {
        List<X509Certificate> anchors = new ArrayList<>();
        if (system) {
            anchors.addAll(Arrays.asList(systemTrustManager().getAcceptedIssuers()));
        }
        for (Path file : extraCa) {
            anchors.addAll(readPemCertificates(file));
        }
        return of(anchors);
    }

    /** Trust exactly these anchors (tests, and {@code extra-ca} without system CAs). */
    public static TrustMaterial of(Collection<X509Certificate> anchors) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            int i = 0;
            for (X509Certificate c : anchors) {
                ks.setCertificateEntry("anchor-" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(ks);
            return new TrustMaterial(onlyX509(tmf.getTrustManagers()), new ArrayList<>(anchors));
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build a trust store", e);
        }
    }

    /** PKIX validation against the configured anchors; throws when the chain is not trusted or has expired. */
    public X509TrustManager trustManager() {
        return trustManager;
    }

    public List<X509Certificate> anchors() {
        return anchors;
    }

    /** A client SSLContext (TLS 1.2+) that validates servers against these anchors. */
    public SSLContext clientContext() {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {trustManager}, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads every certificate in a PEM file; an empty or unreadable file is an error that names it. */
    public static List<X509Certificate> readPemCertificates(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            Collection<? extends java.security.cert.Certificate> certs =
                    CertificateFactory.getInstance("X.509").generateCertificates(in);
            List<X509Certificate> out = new ArrayList<>();
            for (java.security.cert.Certificate c : certs) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) {
                throw new IOException(file + ": no PEM certificate found");
            }
            return out;
        } catch (CertificateException e) {
            throw new IOException(file + ": not a PEM certificate file: " + e.getMessage(), e);
        }
    }

    private static X509TrustManager systemTrustManager() {
        try {
            TrustManagerFactory tmf =
                    TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init((KeyStore) null);
            return onlyX509(tmf.getTrustManagers());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot load the system trust store", e);
        }
    }

    private static X509TrustManager onlyX509(TrustManager[] managers) {
        for (TrustManager m : managers) {
            if (m instanceof X509TrustManager x) {
                return x;
            }
        }
        throw new IllegalStateException("no X509TrustManager available");
    }
}
