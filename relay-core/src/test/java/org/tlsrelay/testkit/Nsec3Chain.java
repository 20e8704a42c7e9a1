package org.tlsrelay.testkit;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.xbill.DNS.DClass;
import org.xbill.DNS.NSEC3Record;
import org.xbill.DNS.Name;
import org.xbill.DNS.NameTooLongException;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.utils.base32;

/**
 * The NSEC3 chain of one zone (RFC 5155 §7.1): SHA-1, no additional iterations and no salt, as RFC 9276 §3.1 asks,
 * with or without the Opt-Out flag. The caller gives the names that get an NSEC3 record with their types; in an
 * Opt-Out zone it leaves out insecure delegations and the empty non-terminals that exist only because of them.
 * Proofs are those of RFC 5155 §7.2: the matching record for NODATA, the closest (provable) encloser proof for
 * NXDOMAIN and for a name without its own record.
 */
final class Nsec3Chain {
    private static final base32 B32 = new base32(base32.Alphabet.BASE32HEX, false, false);

    private final Name apex;
    private final TreeMap<String, NSEC3Record> byHash = new TreeMap<>();

    /**
     * @param names every name that has an NSEC3 record, with the types at it (empty for an empty non-terminal)
     */
    Nsec3Chain(Name apex, boolean optOut, long ttl, Map<Name, Set<Integer>> names) {
        this.apex = apex;
        TreeMap<String, Set<Integer>> hashed = new TreeMap<>(); // base32hex keeps the byte order
        names.forEach((n, types) -> hashed.put(label(n), types));
        List<String> order = new ArrayList<>(hashed.keySet());
        for (int i = 0; i < order.size(); i++) {
            String owner = order.get(i);
            String next = order.get((i + 1) % order.size()); // the last one points back round
            int[] types = hashed.get(owner).stream().mapToInt(Integer::intValue).toArray();
            try {
                byHash.put(
                        owner,
                        new NSEC3Record(
                                new Name(owner, apex),
                                DClass.IN,
                                ttl,
                                NSEC3Record.SHA1_DIGEST_ID,
                                optOut ? NSEC3Record.Flags.OPT_OUT : 0,
                                0,
                                null,
                                B32.fromString(next),
                                types));
            } catch (TextParseException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** The record whose owner is the hash of {@code n}, if {@code n} has one. */
    Optional<NSEC3Record> matching(Name n) {
        return Optional.ofNullable(byHash.get(label(n)));
    }

    /** The record whose span covers the hash of {@code n} (owner hash before it, next hash after, wrapping round). */
    NSEC3Record covering(Name n) {
        var before = byHash.lowerEntry(label(n));
        return before != null ? before.getValue() : byHash.lastEntry().getValue();
    }

    /**
     * The closest provable encloser proof of {@code qname} (RFC 5155 §7.2.1): the record matching the closest
     * ancestor that has one, and the record covering the next closer name. When {@code wildcard}, also the record
     * covering the wildcard at that encloser (the NXDOMAIN proof, §7.2.2).
     */
    List<NSEC3Record> closestEncloserProof(Name qname, boolean wildcard) {
        Name encloser = new Name(qname, 1);
        Name nextCloser = qname;
        while (matching(encloser).isEmpty() && !encloser.equals(apex)) {
            nextCloser = encloser;
            encloser = new Name(encloser, 1);
        }
        Set<NSEC3Record> proof = new LinkedHashSet<>();
        proof.add(matching(encloser).orElseThrow());
        proof.add(covering(nextCloser));
        if (wildcard) {
            try {
                proof.add(covering(Name.concatenate(Name.fromConstantString("*"), encloser)));
            } catch (NameTooLongException e) {
                throw new IllegalArgumentException(e);
            }
        }
        return List.copyOf(proof);
    }

    /** The base32hex label of {@code n}'s hash: H(canonical wire form) with no salt and no extra iteration. */
    private static String label(Name n) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-1").digest(n.toWireCanonical());
            return B32.toString(hash).toUpperCase(java.util.Locale.ROOT);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return apex + " NSEC3 chain of " + byHash.size() + " records";
    }
}
