package org.tlsrelay.smtp.dns;

import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.xbill.DNS.DClass;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.DNSSEC;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSEC3Record;
import org.xbill.DNS.Name;
import org.xbill.DNS.RRSIGRecord;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;
import org.xbill.DNS.dnssec.ValidatingResolver;
import org.xbill.DNS.utils.base32;

/**
 * The insecure NODATA of a name in an NSEC3 Opt-Out zone that has no NSEC3 record of its own, e.g. an empty
 * non-terminal that exists only because unsigned delegations sit below it (RFC 5155 §7.2.4 and errata 3441; §9.2: no
 * AD bit). dnsjava's validator (3.7.1) finds it insecure but, unlike every other insecure answer, gives no reason, so
 * that it looks just like an answer whose validation could not finish. This checks the proof again, with keys the
 * validator has validated: the NSEC3 records are signed by the secure keys of their zone, none matches the name, one
 * matches its closest encloser (not a delegation), and an Opt-Out one covers the next closer name.
 */
final class OptOutNodata {
    private static final base32 B32 = new base32(base32.Alphabet.BASE32HEX, false, false);

    private OptOutNodata() {}

    /** Whether {@code response} (NOERROR, nothing of the type asked) proves an insecure Opt-Out NODATA of {@code qname}. */
    static CompletableFuture<Boolean> proven(
            ValidatingResolver validator, Message response, Name qname, Instant now) {
        List<Record> authority = response.getSection(Section.AUTHORITY);
        List<NSEC3Record> nsec3s =
                authority.stream()
                        .filter(r -> r instanceof NSEC3Record)
                        .map(r -> (NSEC3Record) r)
                        .toList();
        List<RRSIGRecord> sigs =
                authority.stream()
                        .filter(r -> r instanceof RRSIGRecord s && s.getTypeCovered() == Type.NSEC3)
                        .map(r -> (RRSIGRecord) r)
                        .toList();
        if (nsec3s.isEmpty() || sigs.isEmpty()) {
            return CompletableFuture.completedFuture(false);
        }
        Name zone = sigs.get(0).getSigner();
        if (!qname.subdomain(zone)
                || sigs.stream().anyMatch(s -> !s.getSigner().equals(zone))
                || nsec3s.stream().anyMatch(n -> !new Name(n.getName(), 1).equals(zone))
                || !provesOptOut(nsec3s, qname, zone)) {
            return CompletableFuture.completedFuture(false);
        }
        Message keyQuery = Message.newQuery(Record.newRecord(zone, Type.DNSKEY, DClass.IN));
        return validator
                .sendAsync(keyQuery)
                .toCompletableFuture()
                .handle(
                        (keys, error) -> {
                            if (error != null || !keys.getHeader().getFlag(Flags.AD)) {
                                return false; // the zone's keys are not secure: nothing is proven
                            }
                            List<DNSKEYRecord> dnskeys =
                                    keys.getSection(Section.ANSWER).stream()
                                            .filter(r -> r instanceof DNSKEYRecord)
                                            .map(r -> (DNSKEYRecord) r)
                                            .toList();
                            return signed(nsec3s, sigs, dnskeys, now);
                        });
    }

    /** Every NSEC3 RRset has a signature that one of the zone's validated keys verifies (RFC 4035 §5.3). */
    private static boolean signed(
            List<NSEC3Record> nsec3s,
            List<RRSIGRecord> sigs,
            List<DNSKEYRecord> keys,
            Instant now) {
        Map<Name, List<NSEC3Record>> byOwner =
                nsec3s.stream().collect(Collectors.groupingBy(Record::getName));
        for (Map.Entry<Name, List<NSEC3Record>> e : byOwner.entrySet()) {
            RRset set = new RRset();
            e.getValue().forEach(set::addRR);
            boolean verified = false;
            for (RRSIGRecord sig : sigs) {
                if (!sig.getName().equals(e.getKey())) {
                    continue;
                }
                for (DNSKEYRecord key : keys) {
                    if (key.getFootprint() != sig.getFootprint()
                            || key.getAlgorithm() != sig.getAlgorithm()) {
                        continue;
                    }
                    try {
                        DNSSEC.verify(set, sig, key, now);
                        verified = true;
                    } catch (DNSSEC.DNSSECException ex) {
                        // try the next key or signature
                    }
                }
            }
            if (!verified) {
                return false;
            }
        }
        return true;
    }

    /**
     * RFC 5155 §8.5-8.6: no NSEC3 matches {@code qname}; the closest ancestor with a matching NSEC3 is neither a
     * delegation nor a DNAME; the NSEC3 covering the next closer name has the Opt-Out flag.
     */
    private static boolean provesOptOut(List<NSEC3Record> nsec3s, Name qname, Name zone) {
        if (matching(nsec3s, qname, zone).isPresent() || qname.equals(zone)) {
            return false;
        }
        Name nextCloser = qname;
        Name encloser = new Name(qname, 1);
        Optional<NSEC3Record> ce = matching(nsec3s, encloser, zone);
        while (ce.isEmpty() && !encloser.equals(zone)) {
            nextCloser = encloser;
            encloser = new Name(encloser, 1);
            ce = matching(nsec3s, encloser, zone);
        }
        if (ce.isEmpty()
                || ce.get().hasType(Type.DNAME)
                || (ce.get().hasType(Type.NS) && !ce.get().hasType(Type.SOA))) {
            return false;
        }
        Name target = nextCloser;
        return nsec3s.stream()
                .anyMatch(
                        n -> (n.getFlags() & NSEC3Record.Flags.OPT_OUT) != 0 && covers(n, target));
    }

    private static Optional<NSEC3Record> matching(List<NSEC3Record> nsec3s, Name name, Name zone) {
        List<NSEC3Record> found = new ArrayList<>();
        for (NSEC3Record n : nsec3s) {
            try {
                Name hashed = new Name(B32.toString(n.hashName(name)), zone);
                if (hashed.equals(n.getName())) {
                    found.add(n);
                }
            } catch (NoSuchAlgorithmException | org.xbill.DNS.TextParseException e) {
                // an unknown hash algorithm matches nothing
            }
        }
        return found.stream().findFirst();
    }

    /** Whether the hash of {@code name} lies strictly between the owner's hash and the next one (wrapping round). */
    private static boolean covers(NSEC3Record n, Name name) {
        byte[] hash;
        try {
            hash = n.hashName(name);
        } catch (NoSuchAlgorithmException e) {
            return false;
        }
        byte[] owner = B32.fromString(n.getName().getLabelString(0));
        byte[] next = n.getNext();
        if (owner == null) {
            return false;
        }
        int ownerToHash = java.util.Arrays.compareUnsigned(owner, hash);
        int hashToNext = java.util.Arrays.compareUnsigned(hash, next);
        if (java.util.Arrays.compareUnsigned(owner, next) < 0) {
            return ownerToHash < 0 && hashToNext < 0;
        }
        return ownerToHash < 0 || hashToNext < 0; // the last span of the chain wraps round
    }
}
