package org.tlsrelay.core.dkim;

import java.util.Locale;
import java.util.Optional;

/** The two signing algorithms the relay uses: RFC 6376 §3.3.1 {@code rsa-sha256} and RFC 8463 §3 {@code ed25519-sha256}. */
public enum DkimAlgorithm {
    /** RSASSA-PKCS1-v1_5 with SHA-256 over the header hash input (RFC 6376 §3.3.1); keys of 2048 bits or more. */
    RSA_SHA256("rsa-sha256", "rsa"),
    /** PureEdDSA Ed25519 over the SHA-256 hash of the header hash input (RFC 8463 §3). */
    ED25519_SHA256("ed25519-sha256", "ed25519");

    private final String tag;
    private final String keyType;

    DkimAlgorithm(String tag, String keyType) {
        this.tag = tag;
        this.keyType = keyType;
    }

    /** The {@code a=} value of a signature. */
    public String tag() {
        return tag;
    }

    /** The {@code k=} value of the key record (RFC 6376 §3.6.1, RFC 8463 §4), and the name on the command line. */
    public String keyType() {
        return keyType;
    }

    /** {@code rsa} or {@code ed25519} (any case); as {@code k=} says or {@code --algorithm} asks. */
    public static Optional<DkimAlgorithm> ofKeyType(String keyType) {
        String k = keyType.strip().toLowerCase(Locale.ROOT);
        for (DkimAlgorithm a : values()) {
            if (a.keyType.equals(k)) {
                return Optional.of(a);
            }
        }
        return Optional.empty();
    }
}
