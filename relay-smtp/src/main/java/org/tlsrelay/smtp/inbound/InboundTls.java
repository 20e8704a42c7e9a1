package org.tlsrelay.smtp.inbound;

import java.io.IOException;
import java.io.Reader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dns.IpAddresses;
import org.tlsrelay.core.io.Problems;

/**
 * Server-side TLS for STARTTLS ({@code server.tls}): the PEM certificate chain and private key, TLS 1.3 and 1.2 only,
 * AEAD cipher suites with forward secrecy only (the Mozilla "intermediate" list without DHE), and no reverse DNS
 * look-up when the socket is layered (SubEthaSMTP's default creator calls {@code getHostName()}).
 */
final class InboundTls {
    static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");
    static final List<String> CIPHER_SUITES =
            List.of(
                    "TLS_AES_128_GCM_SHA256",
                    "TLS_AES_256_GCM_SHA384",
                    "TLS_CHACHA20_POLY1305_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    private final SSLContext context;
    private final String[] protocols;
    private final String[] suites;

    private InboundTls(SSLContext context) {
        this.context = context;
        SSLParameters supported = context.getSupportedSSLParameters();
        this.protocols =
                PROTOCOLS.stream()
                        .filter(Arrays.asList(supported.getProtocols())::contains)
                        .toArray(String[]::new);
        this.suites =
                CIPHER_SUITES.stream()
                        .filter(Arrays.asList(supported.getCipherSuites())::contains)
                        .toArray(String[]::new);
    }

    /** Loads {@code server.tls}; a missing or malformed file is an {@link IOException} that names it. */
    static InboundTls load(RelayConfig.Tls tls) throws IOException {
        List<X509Certificate> chain = readChain(tls.certificate());
        PrivateKey key = readKey(tls.privateKey());
        if (!belongTogether(chain.get(0), key)) {
            throw new IOException(
                    "server.tls: the private key "
                            + tls.privateKey()
                            + " does not belong to the certificate "
                            + tls.certificate()
                            + " (the first certificate in the file must be the server's, issued for this key):"
                            + " give the key the certificate was issued for");
        }
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("server", key, new char[0], chain.toArray(X509Certificate[]::new));
            KeyManagerFactory kmf =
                    KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, new char[0]);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return new InboundTls(ctx);
        } catch (GeneralSecurityException e) {
            throw new IOException(
                    "server.tls: the private key "
                            + tls.privateKey()
                            + " does not fit the certificate "
                            + tls.certificate()
                            + ": "
                            + e.getMessage(),
                    e);
        }
    }

    /** For tests: a ready context. */
    static InboundTls of(SSLContext context) {
        return new InboundTls(context);
    }

    /** Layers a server-mode TLS socket over an accepted plain socket; the handshake starts later. */
    SSLSocket layer(Socket plain) throws IOException {
        InetSocketAddress remote = (InetSocketAddress) plain.getRemoteSocketAddress();
        // The host argument matters only for a client; a literal keeps the JDK from any name
        // look-up.
        SSLSocket s =
                (SSLSocket)
                        context.getSocketFactory()
                                .createSocket(
                                        plain,
                                        IpAddresses.text(remote.getAddress()),
                                        plain.getPort(),
                                        true);
        s.setUseClientMode(false);
        SSLParameters p = s.getSSLParameters();
        p.setProtocols(protocols);
        p.setCipherSuites(suites);
        p.setUseCipherSuitesOrder(true);
        s.setSSLParameters(p);
        return s;
    }

    /**
     * Whether {@code key} is the private half of the certificate's public key: a signature made with it verifies
     * with the certificate (the JDK's key store does not check this, and a wrong pair would only fail handshakes).
     */
    private static boolean belongTogether(X509Certificate cert, PrivateKey key) {
        String algorithm =
                switch (key.getAlgorithm()) {
                    case "RSA" -> "SHA256withRSA";
                    case "EC" -> "SHA256withECDSA";
                    case "Ed25519", "EdDSA" -> "Ed25519";
                    case "Ed448" -> "Ed448";
                    default -> null;
                };
        if (algorithm == null) {
            return true; // a kind the handshake itself will judge
        }
        try {
            byte[] probe =
                    "tlsrelay key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            Signature sign = Signature.getInstance(algorithm);
            sign.initSign(key);
            sign.update(probe);
            byte[] signature = sign.sign();
            Signature verify = Signature.getInstance(algorithm);
            verify.initVerify(cert.getPublicKey());
            verify.update(probe);
            return verify.verify(signature);
        } catch (GeneralSecurityException e) {
            return false; // e.g. an EC key for an RSA certificate
        }
    }

    private static List<X509Certificate> readChain(Path file) throws IOException {
        List<X509Certificate> out = new ArrayList<>();
        try (Reader r = reader("server.tls.certificate", file);
                PEMParser p = new PEMParser(r)) {
            JcaX509CertificateConverter conv = new JcaX509CertificateConverter();
            for (Object o = p.readObject(); o != null; o = p.readObject()) {
                if (o instanceof X509CertificateHolder h) {
                    out.add(conv.getCertificate(h));
                }
            }
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new IOException(
                    "server.tls.certificate: "
                            + file
                            + ": not a PEM certificate: "
                            + e.getMessage(),
                    e);
        }
        if (out.isEmpty()) {
            throw new IOException("server.tls.certificate: " + file + ": no PEM certificate found");
        }
        return out;
    }

    /** The file, or an error that names the key and says why it cannot be read (no bare path). */
    private static Reader reader(String key, Path file) throws IOException {
        try {
            return Files.newBufferedReader(file);
        } catch (IOException e) {
            throw new IOException(key + ": cannot read: " + Problems.describe(e), e);
        }
    }

    private static PrivateKey readKey(Path file) throws IOException {
        Reader reader = reader("server.tls.private-key", file);
        try (Reader r = reader;
                PEMParser p = new PEMParser(r)) {
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
            for (Object o = p.readObject(); o != null; o = p.readObject()) {
                if (o instanceof PrivateKeyInfo info) {
                    return conv.getPrivateKey(info);
                }
                if (o instanceof PEMKeyPair pair) {
                    return conv.getKeyPair(pair).getPrivate();
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new IOException(
                    "server.tls.private-key: "
                            + file
                            + ": not a PEM private key: "
                            + e.getMessage(),
                    e);
        }
        throw new IOException(
                "server.tls.private-key: " + file + ": no unencrypted PEM private key found");
    }
}
