package org.tlsrelay.core.policy.list;

import java.time.Instant;

/** A list whose signature was checked against its pinned key, then parsed: the only form in which a list is used. */
public record SignedList(String name, PolicyListDocument document, VerifiedSignature signature) {

    /**
     * Verifies, then parses. The order matters: JSON from the network is parsed only once the key holder vouched
     * for it.
     */
    public static SignedList check(
            String name, byte[] policy, byte[] signature, ListKey key, Instant now)
            throws ListSignatureException, ListFormatException {
        VerifiedSignature verified = key.verify(policy, signature, now);
        return new SignedList(name, PolicyListParser.parse(policy), verified);
    }

    /** One line for logs and the CLI: domains, times and signer. */
    public String summary() {
        return document.entries().size()
                + " domains, timestamp "
                + document.timestamp()
                + ", expires "
                + document.expires()
                + ", signed "
                + signature.created()
                + " by "
                + signature.describe();
    }
}
