package org.tlsrelay.core.dkim;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.EdECPrivateKeySpec;
import java.security.spec.NamedParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;

/**
 * One configured key ({@code dkim.keys[]}): the signing domain ({@code d=}), the selector ({@code s=}), the private
 * key and what the public key record must publish ({@code p=}). Immutable and thread-safe: every signature makes its
 * own {@link Signature} object.
 */
public final class SigningKey {
    private final String domain;
    private final String selector;
    private final DkimAlgorithm algorithm;
    private final PrivateKey privateKey;
    private final byte[] publicKeyData;
    private final int bits;

    private SigningKey(
            String domain,
            String selector,
            DkimAlgorithm algorithm,
            PrivateKey privateKey,
            byte[] publicKeyData,
            int bits) {
        this.domain = domain;
        this.selector = selector;
        this.algorithm = algorithm;
        this.privateKey = privateKey;
        this.publicKeyData = publicKeyData;
        this.bits = bits;
    }

    /**
     * The key for {@code domain} and {@code selector} (both already checked as DNS names) from a private key of
     * either kind, as the JDK or Bouncy Castle decoded it.
     *
     * @throws IllegalArgumentException for any other kind of key, or an RSA key without its public part
     */
    public static SigningKey of(String domain, String selector, PrivateKey key) {
        String d = domain.toLowerCase(Locale.ROOT);
        String s = selector.toLowerCase(Locale.ROOT);
        try {
            if (key instanceof RSAPrivateCrtKey rsa) {
                KeyFactory f = KeyFactory.getInstance("RSA");
                byte[] spki =
                        f.generatePublic(
                                        new RSAPublicKeySpec(
                                                rsa.getModulus(), rsa.getPublicExponent()))
                                .getEncoded();
                PrivateKey jdk = f.generatePrivate(new PKCS8EncodedKeySpec(rsa.getEncoded()));
                return new SigningKey(
                        d, s, DkimAlgorithm.RSA_SHA256, jdk, spki, rsa.getModulus().bitLength());
            }
            if ("RSA".equals(key.getAlgorithm())) {
                throw new IllegalArgumentException(
                        "the RSA key has no public exponent (not a CRT key): write it out again with "
                                + "openssl pkey -in FILE -out NEW.pem");
            }
            byte[] seed = ed25519Seed(key);
            PrivateKey jdk =
                    KeyFactory.getInstance("Ed25519")
                            .generatePrivate(
                                    new EdECPrivateKeySpec(NamedParameterSpec.ED25519, seed));
            byte[] pub = new Ed25519PrivateKeyParameters(seed).generatePublicKey().getEncoded();
            return new SigningKey(d, s, DkimAlgorithm.ED25519_SHA256, jdk, pub, 256);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot use the key: " + e.getMessage(), e);
        }
    }

    /** The 32-octet private key of an Ed25519 key, from its PKCS#8 form (RFC 8410 §7), whoever decoded it. */
    private static byte[] ed25519Seed(PrivateKey key) {
        byte[] encoded = key.getEncoded();
        if (encoded == null) {
            throw new IllegalArgumentException("the key cannot be exported for use");
        }
        PrivateKeyInfo info = PrivateKeyInfo.getInstance(encoded);
        if (!EdECObjectIdentifiers.id_Ed25519.equals(
                info.getPrivateKeyAlgorithm().getAlgorithm())) {
            throw new IllegalArgumentException(
                    "it is a "
                            + key.getAlgorithm()
                            + " key; DKIM signs with RSA (2048 bits or more) or Ed25519 keys");
        }
        try {
            byte[] seed = ASN1OctetString.getInstance(info.parsePrivateKey()).getOctets();
            if (seed.length != 32) {
                throw new IllegalArgumentException("the Ed25519 key is not 32 octets long");
            }
            return seed;
        } catch (IOException e) {
            throw new IllegalArgumentException("the Ed25519 key is malformed", e);
        }
    }

    public String domain() {
        return domain;
    }

    public String selector() {
        return selector;
    }

    public DkimAlgorithm algorithm() {
        return algorithm;
    }

    /** RSA: the modulus length; Ed25519: 256. */
    public int bits() {
        return bits;
    }

    /** Where the public key is published: {@code SELECTOR._domainkey.DOMAIN} (RFC 6376 §3.6.2.1). */
    public String recordName() {
        return selector + "._domainkey." + domain;
    }

    /**
     * The {@code p=} payload: for RSA the DER SubjectPublicKeyInfo (as {@code opendkim-genkey} publishes it), for
     * Ed25519 the 32-octet public key itself (RFC 8463 §4.2).
     */
    public byte[] publicKeyData() {
        return publicKeyData.clone();
    }

    /** The length of every signature this key makes, in octets: fixed, so a signature's size is known in advance. */
    public int signatureLength() {
        return algorithm == DkimAlgorithm.RSA_SHA256 ? (bits + 7) / 8 : 64;
    }

    /** Signs the header hash input (RFC 6376 §3.7) with this key's algorithm. */
    byte[] sign(byte[] headerHashInput) throws GeneralSecurityException {
        Signature s;
        if (algorithm == DkimAlgorithm.RSA_SHA256) {
            s = Signature.getInstance("SHA256withRSA");
            s.initSign(privateKey);
            s.update(headerHashInput);
        } else {
            // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the data, not the data itself.
            s = Signature.getInstance("Ed25519");
            s.initSign(privateKey);
            s.update(MessageDigest.getInstance("SHA-256").digest(headerHashInput));
        }
        byte[] signature = s.sign();
        if (signature.length != signatureLength()) {
            throw new GeneralSecurityException(
                    "a "
                            + algorithm.tag()
                            + " signature of "
                            + signature.length
                            + " octets, expected "
                            + signatureLength());
        }
        return signature;
    }

    /** Same domain, selector and public key. */
    @Override
    public boolean equals(Object o) {
        return o instanceof SigningKey k
                && domain.equals(k.domain)
                && selector.equals(k.selector)
                && Arrays.equals(publicKeyData, k.publicKeyData);
    }

    @Override
    public int hashCode() {
        return Objects.hash(domain, selector, Arrays.hashCode(publicKeyData));
    }

    /** {@code example.org/tlsrelay2026 (rsa-sha256, 2048 bits)}: never the key material. */
    @Override
    public String toString() {
        return domain
                + "/"
                + selector
                + " ("
                + algorithm.tag()
                + (algorithm == DkimAlgorithm.RSA_SHA256 ? ", " + bits + " bits" : "")
                + ")";
    }
}
