package org.tlsrelay.testkit;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A certificate authority made up in the test, with Bouncy Castle: issues server certificates for loopback test
 * servers (right name, wrong name, expired) and gives the trust material a client needs. EC P-256 keeps it fast.
 */
public final class TestCa {
    private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());

    private final X509Certificate certificate;
    private final KeyPair keys;

    private TestCa(X509Certificate certificate, KeyPair keys) {
        this.certificate = certificate;
        this.keys = keys;
    }

    /** A new self-signed CA named {@code CN=name}, valid from an hour ago for ten years. */
    public static TestCa create(String name) {
        try {
            KeyPair keys = newKeyPair();
            X500Name subject = new X500Name("CN=" + name);
            Instant now = Instant.now();
            X509v3CertificateBuilder b =
                    new JcaX509v3CertificateBuilder(
                            subject,
                            serial(),
                            Date.from(now.minus(Duration.ofHours(1))),
                            Date.from(now.plus(Duration.ofDays(3650))),
                            subject,
                            keys.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(
                    Extension.keyUsage,
                    true,
                    new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(
                    Extension.subjectKeyIdentifier,
                    false,
                    ext.createSubjectKeyIdentifier(keys.getPublic()));
            return new TestCa(sign(b, keys.getPrivate()), keys);
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot create test CA", e);
        }
    }

    public X509Certificate certificate() {
        return certificate;
    }

    /** A server certificate valid now (an hour back, a year ahead) for the given DNS names and IP addresses. */
    public Issued issue(String... subjectAltNames) {
        Instant now = Instant.now();
        return issue(
                now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(365)), subjectAltNames);
    }

    /** A server certificate with the given validity, e.g. one that expired yesterday. */
    public Issued issue(Instant notBefore, Instant notAfter, String... subjectAltNames) {
        try {
            KeyPair leaf = newKeyPair();
            String cn = subjectAltNames.length > 0 ? subjectAltNames[0] : "test";
            X509v3CertificateBuilder b =
                    new JcaX509v3CertificateBuilder(
                            certificate,
                            serial(),
                            Date.from(notBefore),
                            Date.from(notAfter),
                            new X500Name("CN=" + cn),
                            leaf.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            List<GeneralName> names = new ArrayList<>();
            for (String san : subjectAltNames) {
                boolean ip = san.matches("[0-9.]+") || san.contains(":");
                if (ip) {
                    names.add(
                            new GeneralName(
                                    GeneralName.iPAddress,
                                    new org.bouncycastle.asn1.DEROctetString(
                                            InetAddress.getByName(san).getAddress())));
                } else {
                    names.add(new GeneralName(GeneralName.dNSName, san));
                }
            }
            if (!names.isEmpty()) {
                b.addExtension(
                        Extension.subjectAlternativeName,
                        false,
                        new GeneralNames(names.toArray(GeneralName[]::new)));
            }
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(
                    Extension.keyUsage,
                    true,
                    new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
            b.addExtension(
                    Extension.extendedKeyUsage,
                    false,
                    new ExtendedKeyUsage(
                            new KeyPurposeId[] {
                                KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
                            }));
            b.addExtension(
                    Extension.authorityKeyIdentifier,
                    false,
                    ext.createAuthorityKeyIdentifier(certificate));
            b.addExtension(
                    Extension.subjectKeyIdentifier,
                    false,
                    ext.createSubjectKeyIdentifier(leaf.getPublic()));
            return new Issued(sign(b, keys.getPrivate()), leaf.getPrivate(), certificate);
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot issue test certificate", e);
        }
    }

    /** An SSLContext for clients that trust this CA only. */
    public SSLContext clientContext() {
        try {
            KeyStore ts = KeyStore.getInstance("PKCS12");
            ts.load(null, null);
            ts.setCertificateEntry("ca", certificate);
            TrustManagerFactory tmf =
                    TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ts);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), new SecureRandom());
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes the CA certificate as PEM (for {@code delivery.trust.extra-ca}). */
    public Path writeCertificatePem(Path file) throws IOException {
        return Files.writeString(file, pem(certificate));
    }

    /** A leaf certificate with its key and the CA that issued it. */
    public record Issued(X509Certificate certificate, PrivateKey key, X509Certificate ca) {

        /** A server-side SSLContext presenting this certificate (chain: leaf, CA). */
        public SSLContext serverContext() {
            try {
                SSLContext ctx = SSLContext.getInstance("TLS");
                ctx.init(keyManagerFactory().getKeyManagers(), null, new SecureRandom());
                return ctx;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }

        public KeyManagerFactory keyManagerFactory() {
            try {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                ks.setKeyEntry("server", key, new char[0], new X509Certificate[] {certificate, ca});
                KeyManagerFactory kmf =
                        KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, new char[0]);
                return kmf;
            } catch (GeneralSecurityException | IOException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Writes the chain (leaf then CA) as PEM. */
        public Path writeCertificatePem(Path file) throws IOException {
            return Files.writeString(file, pem(certificate) + pem(ca));
        }

        /** Writes the private key as PKCS#8 PEM. */
        public Path writeKeyPem(Path file) throws IOException {
            return Files.writeString(file, pem(key));
        }
    }

    public static String pem(Object object) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(
                    object instanceof PrivateKey k
                            ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(k, null)
                            : object);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toString();
    }

    private static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static BigInteger serial() {
        return BigInteger.valueOf(SERIAL.incrementAndGet());
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key)
            throws OperatorCreationException, GeneralSecurityException {
        ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(key);
        return new JcaX509CertificateConverter().getCertificate(b.build(signer));
    }
}
