package org.tlsrelay.core.dkim;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;

/**
 * A DKIM public key record, the TXT record at {@code SELECTOR._domainkey.DOMAIN} (RFC 6376 §3.6.1): what
 * {@code dkim keygen} prints for publishing and what {@code dkim check} compares with the configured key.
 *
 * @param keyType {@code k=}, {@code rsa} when absent
 * @param publicKeyData {@code p=} decoded; empty when the key was revoked
 * @param testing {@code t=y}: the domain is testing DKIM (verifiers must not treat the mail differently)
 */
public record KeyRecord(String keyType, byte[] publicKeyData, boolean testing) {

    public KeyRecord {
        publicKeyData = publicKeyData.clone();
    }

    /** The record to publish for {@code key}: {@code v=DKIM1; k=rsa; p=...}. */
    public static String render(SigningKey key) {
        return "v=DKIM1; k="
                + key.algorithm().keyType()
                + "; p="
                + Base64.getEncoder().encodeToString(key.publicKeyData());
    }

    /** Parses one record (its strings already joined); the error says what is wrong with it. */
    public static Parsed parse(String text) {
        Optional<Map<String, String>> parsed = TagList.parse(text);
        if (parsed.isEmpty()) {
            return new Parsed.Invalid("not a tag=value list");
        }
        Map<String, String> tags = parsed.get();
        String v = tags.get("v");
        if (v != null && (!v.equals("DKIM1") || !tags.keySet().iterator().next().equals("v"))) {
            // §3.6.1: if present, v= must be first and exactly DKIM1
            return new Parsed.Invalid("v= must come first and be DKIM1");
        }
        String p = tags.get("p");
        if (p == null) {
            return new Parsed.Invalid("it has no p= tag");
        }
        byte[] data;
        try {
            data = Base64.getDecoder().decode(TagList.withoutFws(p));
        } catch (IllegalArgumentException e) {
            return new Parsed.Invalid("p= is not base64");
        }
        String k = tags.getOrDefault("k", "rsa");
        String h = tags.get("h");
        if (h != null
                && Arrays.stream(h.split(":")).map(TagList::strip).noneMatch("sha256"::equals)) {
            return new Parsed.Invalid("h= does not allow sha256");
        }
        String s = tags.get("s");
        if (s != null
                && Arrays.stream(s.split(":"))
                        .map(TagList::strip)
                        .noneMatch(x -> x.equals("*") || x.equals("email"))) {
            return new Parsed.Invalid("s= does not allow email");
        }
        String t = tags.getOrDefault("t", "");
        boolean testing = Arrays.stream(t.split(":")).map(TagList::strip).anyMatch("y"::equals);
        return new Parsed.Valid(new KeyRecord(k, data, testing));
    }

    /** The outcome of {@link #parse}. */
    public sealed interface Parsed {
        record Valid(KeyRecord record) implements Parsed {}

        record Invalid(String reason) implements Parsed {}
    }

    /** The decoded {@code p=} value (a copy). */
    @Override
    public byte[] publicKeyData() {
        return publicKeyData.clone();
    }

    /** {@code p=} is empty (§3.6.1: the key was revoked). */
    public boolean revoked() {
        return publicKeyData.length == 0;
    }

    /**
     * Whether this record publishes the public half of {@code key}: the same key type and the same public key. An
     * RSA key may be published as SubjectPublicKeyInfo (the usual form) or as a bare PKCS#1 RSAPublicKey.
     */
    public boolean publishes(SigningKey key) {
        if (!keyType.equals(key.algorithm().keyType()) || revoked()) {
            return false;
        }
        if (key.algorithm() == DkimAlgorithm.ED25519_SHA256) {
            return Arrays.equals(publicKeyData, key.publicKeyData());
        }
        Optional<BigInteger[]> published = rsa(publicKeyData);
        Optional<BigInteger[]> ours = rsa(key.publicKeyData());
        return published.isPresent()
                && ours.isPresent()
                && Arrays.equals(published.get(), ours.get());
    }

    /** Modulus and exponent of an RSA public key in either encoding. */
    private static Optional<BigInteger[]> rsa(byte[] data) {
        try {
            RSAPublicKey k =
                    (RSAPublicKey)
                            KeyFactory.getInstance("RSA")
                                    .generatePublic(new X509EncodedKeySpec(data));
            return Optional.of(new BigInteger[] {k.getModulus(), k.getPublicExponent()});
        } catch (GeneralSecurityException | ClassCastException e) {
            try {
                org.bouncycastle.asn1.pkcs.RSAPublicKey k =
                        org.bouncycastle.asn1.pkcs.RSAPublicKey.getInstance(data);
                return Optional.of(new BigInteger[] {k.getModulus(), k.getPublicExponent()});
            } catch (RuntimeException notPkcs1) {
                return Optional.empty();
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyRecord r
                && keyType.equals(r.keyType)
                && testing == r.testing
                && Arrays.equals(publicKeyData, r.publicKeyData);
    }

    @Override
    public int hashCode() {
        return keyType.hashCode() * 31 + Arrays.hashCode(publicKeyData);
    }

    @Override
    public String toString() {
        return "KeyRecord[k=" + keyType + ", " + publicKeyData.length + " octets]";
    }
}
