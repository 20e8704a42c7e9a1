package org.tlsrelay.core.policy.list;

import java.time.Instant;

/**
 * A good signature over a list: when it was made (the rollback check compares these) and by whom.
 *
 * @param created        the signature creation time (OpenPGP signature subpacket 2)
 * @param signingKey     fingerprint of the key or subkey that made the signature, upper-case hex
 * @param primaryKey     fingerprint of that key's primary key, upper-case hex
 * @param signer         the primary user ID, e.g. {@code STARTTLS Everywhere Team <starttls-policy@eff.org>}, or
 *                       the primary fingerprint when the key has no user ID
 */
public record VerifiedSignature(
        Instant created, String signingKey, String primaryKey, String signer) {

    /** {@code Name <mail> (key 2C31..., primary B693...)}. */
    public String describe() {
        return signer
                + (signingKey.equals(primaryKey)
                        ? " (key " + signingKey + ")"
                        : " (subkey " + signingKey + " of " + primaryKey + ")");
    }
}
