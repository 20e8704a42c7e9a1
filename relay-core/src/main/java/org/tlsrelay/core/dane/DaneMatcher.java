package org.tlsrelay.core.dane;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x509.Certificate;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.openssl.PEMException;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.tlsrelay.core.dns.TlsaRecord;
import org.tlsrelay.core.tls.CertificateNames;

/**
 * Decides whether a TLS server's certificate chain matches a TLSA RRset, as DANE for SMTP says (RFC 7672 §3, with
 * RFC 6698 §2.1 and RFC 7671). A pure function: no I/O; the time is passed in.
 *
 * <ul>
 *   <li>Only DANE-TA(2) and DANE-EE(3) records with selector 0/1 and matching type 0/1/2 are usable (RFC 7672
 *   §3.1.3); an RRset without any is {@link DaneMatch.Unusable} (opportunistic TLS).</li>
 *   <li>DANE-EE(3): the leaf certificate (selector 0) or its SubjectPublicKeyInfo (selector 1) must match. Neither
 *   the names nor the validity period are checked (RFC 7672 §3.1.1).</li>
 *   <li>DANE-TA(2): a certificate of the server's certification path must match, and the path from it down to the
 *   leaf must hold: each certificate signed by the next, intermediate certificates CA certificates, all of them
 *   (leaf to below the trust anchor) valid at {@code now}; a full public key ({@code 2 1 0}) may also be a trust
 *   anchor that is not in the chain and signs its topmost certificate (RFC 7671 §5.2.2). The leaf must then name
 *   one of the reference identifiers (RFC 7672 §3.2.2: the MX host name and the TLSA base domain), subjectAltName
 *   DNS-IDs only, as {@link CertificateNames#matches} checks them.</li>
 * </ul>
 * The path is built from the certificates as presented, whatever their order (TLS 1.3 allows any, RFC 8446 §4.4.2).
 */
public final class DaneMatcher {
    private static final int MAX_PATH = 10;

    private DaneMatcher() {}

    /**
     * Matches {@code chain} (the server's certificates as presented, leaf first) against {@code tlsa}.
     *
     * @param referenceNames the names a DANE-TA(2) leaf may carry: the MX host name and the TLSA base domain
     */
    public static DaneMatch match(
            List<TlsaRecord> tlsa,
            List<X509Certificate> chain,
            List<String> referenceNames,
            Instant now) {
        List<TlsaRecord> usable = tlsa.stream().filter(TlsaRecord::usable).toList();
        if (usable.isEmpty()) {
            return new DaneMatch.Unusable();
        }
        if (chain.isEmpty()) {
            return new DaneMatch.NoMatch("the server presented no certificate");
        }
        X509Certificate leaf = chain.get(0);
        List<String> problems = new ArrayList<>();
        // RFC 7672 §3.1.1: DANE-EE(3) binds the key or certificate; no name or expiry check.
        for (TlsaRecord r : usable) {
            if (r.usage() == TlsaRecord.DANE_EE) {
                if (matches(r, leaf)) {
                    return new DaneMatch.Matched(
                            r,
                            0,
                            "DANE-EE(3) "
                                    + r
                                    + " matches the server certificate "
                                    + leaf.getSubjectX500Principal().getName());
                }
            }
        }
        if (usable.stream().anyMatch(r -> r.usage() == TlsaRecord.DANE_EE)) {
            problems.add(
                    "no DANE-EE(3) record matches the server certificate "
                            + leaf.getSubjectX500Principal().getName());
        }
        List<X509Certificate> path = path(chain);
        for (TlsaRecord r : usable) {
            if (r.usage() != TlsaRecord.DANE_TA) {
                continue;
            }
            int depth = -1;
            for (int i = 0; i < path.size() && depth < 0; i++) {
                if (matches(r, path.get(i))) {
                    depth = i;
                }
            }
            if (depth < 0
                    && r.selector() == TlsaRecord.SELECTOR_SPKI
                    && r.matchingType() == TlsaRecord.MATCH_FULL
                    && signedBy(path.get(path.size() - 1), r.data())) {
                depth = path.size(); // RFC 7671 §5.2.2: the trust anchor's key in full, its
                // certificate not sent
            }
            if (depth < 0) {
                problems.add("DANE-TA(2) " + r + " matches no certificate of the chain");
                continue;
            }
            String broken = belowAnchor(path, depth, now);
            if (!broken.isEmpty()) {
                problems.add("DANE-TA(2) " + r + " matched, but " + broken);
                continue;
            }
            List<String> names = dnsNames(leaf);
            boolean named =
                    referenceNames.stream().anyMatch(n -> CertificateNames.matches(n, names));
            if (!named) {
                problems.add(
                        "DANE-TA(2) "
                                + r
                                + " matched, but the certificate names "
                                + names
                                + " match none of "
                                + referenceNames);
                continue;
            }
            String at =
                    depth < path.size()
                            ? path.get(depth).getSubjectX500Principal().getName()
                            : "a key not sent";
            return new DaneMatch.Matched(
                    r,
                    depth,
                    "DANE-TA(2) "
                            + r
                            + " matches "
                            + at
                            + ", which issues "
                            + leaf.getSubjectX500Principal().getName()
                            + " "
                            + names);
        }
        return new DaneMatch.NoMatch(String.join("; ", problems));
    }

    /**
     * Whether {@code record} matches {@code certificate}: the selected part (the DER certificate, or its
     * SubjectPublicKeyInfo as it stands in the certificate) as is, or its SHA-256 or SHA-512 (RFC 6698 §2.1.2-3).
     */
    public static boolean matches(TlsaRecord record, X509Certificate certificate) {
        byte[] selected;
        try {
            selected =
                    switch (record.selector()) {
                        case TlsaRecord.SELECTOR_CERT -> certificate.getEncoded();
                        case TlsaRecord.SELECTOR_SPKI -> spki(certificate);
                        default -> null;
                    };
        } catch (CertificateEncodingException | IOException | RuntimeException e) {
            return false;
        }
        if (selected == null) {
            return false;
        }
        byte[] value =
                switch (record.matchingType()) {
                    case TlsaRecord.MATCH_FULL -> selected;
                    case TlsaRecord.MATCH_SHA256 -> digest("SHA-256", selected);
                    case TlsaRecord.MATCH_SHA512 -> digest("SHA-512", selected);
                    default -> null;
                };
        return value != null && MessageDigest.isEqual(value, record.data());
    }

    /** The certificate's SubjectPublicKeyInfo, DER-encoded exactly as the certificate carries it. */
    static byte[] spki(X509Certificate certificate)
            throws CertificateEncodingException, IOException {
        return Certificate.getInstance(certificate.getEncoded())
                .getSubjectPublicKeyInfo()
                .getEncoded("DER");
    }

    /**
     * The certification path from the leaf upwards through the presented certificates: each next one is the issuer
     * (by name) whose key verifies the previous one's signature. Stops at a self-signed certificate, at a certificate
     * whose issuer was not sent, or after {@value #MAX_PATH} certificates.
     */
    static List<X509Certificate> path(List<X509Certificate> presented) {
        List<X509Certificate> path = new ArrayList<>();
        X509Certificate current = presented.get(0);
        path.add(current);
        while (path.size() < MAX_PATH && !selfSigned(current)) {
            X509Certificate issuer = null;
            for (X509Certificate c : presented) {
                if (!path.contains(c)
                        && c.getSubjectX500Principal().equals(current.getIssuerX500Principal())
                        && verifies(current, c.getPublicKey())) {
                    issuer = c;
                    break;
                }
            }
            if (issuer == null) {
                break;
            }
            path.add(issuer);
            current = issuer;
        }
        return path;
    }

    /**
     * Why the path from the trust anchor at {@code depth} down to the leaf does not hold, or empty: the certificates
     * between anchor and leaf must be CA certificates (RFC 5280 §4.2.1.9), and every certificate below the anchor
     * valid at {@code now} (RFC 5280 §6.1.3).
     */
    private static String belowAnchor(List<X509Certificate> path, int depth, Instant now) {
        Date at = Date.from(now);
        for (int i = 0; i < depth && i < path.size(); i++) {
            X509Certificate c = path.get(i);
            if (i > 0 && c.getBasicConstraints() < 0) {
                return c.getSubjectX500Principal().getName() + " is not a CA certificate";
            }
            try {
                c.checkValidity(at);
            } catch (CertificateExpiredException e) {
                return c.getSubjectX500Principal().getName()
                        + " expired at "
                        + c.getNotAfter().toInstant();
            } catch (CertificateNotYetValidException e) {
                return c.getSubjectX500Principal().getName()
                        + " is not valid before "
                        + c.getNotBefore().toInstant();
            }
        }
        return "";
    }

    private static boolean selfSigned(X509Certificate c) {
        return c.getSubjectX500Principal().equals(c.getIssuerX500Principal())
                && verifies(c, c.getPublicKey());
    }

    private static boolean verifies(X509Certificate c, PublicKey key) {
        try {
            c.verify(key);
            return true;
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    /** Whether {@code top} is signed by the key whose SubjectPublicKeyInfo is {@code spki}. */
    private static boolean signedBy(X509Certificate top, byte[] spki) {
        try {
            PublicKey key =
                    new JcaPEMKeyConverter().getPublicKey(SubjectPublicKeyInfo.getInstance(spki));
            return verifies(top, key);
        } catch (PEMException | RuntimeException e) {
            return false; // not a key we can read: it signs nothing
        }
    }

    /** The leaf's subjectAltName dNSName entries. */
    static List<String> dnsNames(X509Certificate leaf) {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (san.size() >= 2
                            && Integer.valueOf(2).equals(san.get(0))
                            && san.get(1) instanceof String s) {
                        names.add(s);
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // an unreadable extension names nothing
        }
        return names;
    }

    private static byte[] digest(String algorithm, byte[] data) {
        try {
            return MessageDigest.getInstance(algorithm).digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is required of every Java platform", e);
        }
    }
}
