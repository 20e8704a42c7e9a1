package org.tlsrelay.testkit;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.tlsrelay.core.dns.TlsaRecord;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.DNSSEC;
import org.xbill.DNS.DSRecord;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.NSEC3PARAMRecord;
import org.xbill.DNS.NSEC3Record;
import org.xbill.DNS.NSECRecord;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.RRSIGRecord;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.TLSARecord;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * A DNS zone made and signed in the test, for {@link DnsStubServer#serve}: DNSSEC as a validating resolver checks it
 * (RFC 4033-4035), minimal but real.
 *
 * <ul>
 *   <li>{@link #signed} zones get a KSK and a ZSK (ECDSA P-256 with SHA-256, algorithm 13, RFC 6605) made with the
 *   JDK; the DNSKEY RRset is signed by the KSK, every other RRset by the ZSK, with dnsjava's {@link DNSSEC#sign}.
 *   Answers carry their RRSIGs; NODATA and NXDOMAIN answers carry the SOA and the NSEC records that prove them
 *   (RFC 4035 §3.1.3), from an NSEC chain in canonical order (RFC 4034 §6.1), including empty non-terminals and the
 *   wildcard proof.</li>
 *   <li>{@link #delegate} adds the child's NS records and, for a signed child, its DS record (SHA-256 of the KSK),
 *   signed by this zone: a trust anchor for this zone ({@link #trustAnchor}) then validates the child. An unsigned
 *   child is delegated without DS, which the NSEC at the delegation point proves: an insecure zone.</li>
 *   <li>{@link #nsec3} proves absence with NSEC3 instead (RFC 5155: SHA-1, no extra iterations, no salt), with or
 *   without Opt-Out; in an Opt-Out zone, insecure delegations and the empty non-terminals above only them have no
 *   NSEC3 record, as in {@code .com}.</li>
 *   <li>{@link #tamper} breaks the signature of one RRset: its answers are bogus.</li>
 * </ul>
 * DNSSEC records are sent only to queries with the DO bit (RFC 3225), as real servers do. Records have TTL 0 (keys 60 s), so no
 * cache in a client hides a change.
 */
public final class SignedZone {
    private static final long TTL = 0;

    /**
     * The keys' TTL: a validator keeps validated keys only that long, and dnsjava's looks them up again in its key
     * cache to check NSEC3 iteration counts (RFC 5155 §10.3), so keys of TTL 0 would make every NSEC3 proof fail.
     */
    private static final long KEY_TTL = 60;

    private final Name apex;
    private final boolean signed;
    private final KeyPair kskKeys;
    private final KeyPair zskKeys;
    private final DNSKEYRecord ksk;
    private final DNSKEYRecord zsk;
    private final Map<Name, List<Record>> data = new ConcurrentHashMap<>();
    private final Set<String> tampered = ConcurrentHashMap.newKeySet();
    private final List<SignedZone> children = new CopyOnWriteArrayList<>();
    private volatile Denial denial = Denial.NSEC;

    /** How the zone proves that a name or type does not exist. */
    private enum Denial {
        NSEC,
        NSEC3,
        NSEC3_OPT_OUT
    }

    private SignedZone(Name apex, boolean signed) {
        this.apex = apex;
        this.signed = signed;
        try {
            if (signed) {
                kskKeys = newKey();
                zskKeys = newKey();
                ksk =
                        new DNSKEYRecord(
                                apex,
                                DClass.IN,
                                KEY_TTL,
                                DNSKEYRecord.Flags.ZONE_KEY | DNSKEYRecord.Flags.SEP_KEY,
                                DNSKEYRecord.Protocol.DNSSEC,
                                DNSSEC.Algorithm.ECDSAP256SHA256,
                                kskKeys.getPublic());
                zsk =
                        new DNSKEYRecord(
                                apex,
                                DClass.IN,
                                KEY_TTL,
                                DNSKEYRecord.Flags.ZONE_KEY,
                                DNSKEYRecord.Protocol.DNSSEC,
                                DNSSEC.Algorithm.ECDSAP256SHA256,
                                zskKeys.getPublic());
                add(ksk);
                add(zsk);
            } else {
                kskKeys = null;
                zskKeys = null;
                ksk = null;
                zsk = null;
            }
        } catch (GeneralSecurityException | DNSSEC.DNSSECException e) {
            throw new IllegalStateException("cannot make DNSSEC keys", e);
        }
        add(
                new SOARecord(
                        apex,
                        DClass.IN,
                        TTL,
                        name("ns." + text(apex)),
                        name("hostmaster." + text(apex)),
                        1,
                        3600,
                        600,
                        86400,
                        0));
        add(new NSRecord(apex, DClass.IN, TTL, name("ns." + text(apex))));
    }

    /** A new zone signed with its own KSK and ZSK; {@code apex} may be a top-level name such as {@code test}. */
    public static SignedZone signed(String apex) {
        return new SignedZone(name(apex), true);
    }

    /** A new unsigned zone: delegated from a signed parent, it is provably insecure (no DS). */
    public static SignedZone unsigned(String apex) {
        return new SignedZone(name(apex), false);
    }

    /**
     * Proves absence with an NSEC3 chain (RFC 5155) instead of NSEC; with {@code optOut}, unsigned delegations are
     * left out of the chain and covered by Opt-Out spans (RFC 5155 §6).
     */
    public SignedZone nsec3(boolean optOut) {
        requireSigned();
        denial = optOut ? Denial.NSEC3_OPT_OUT : Denial.NSEC3;
        remove(text(apex), "NSEC3PARAM");
        return add(
                new NSEC3PARAMRecord(apex, DClass.IN, TTL, NSEC3Record.SHA1_DIGEST_ID, 0, 0, null));
    }

    public Name apex() {
        return apex;
    }

    public boolean isSigned() {
        return signed;
    }

    // ---- data ----

    public SignedZone a(String host, String... addresses) {
        for (String a : addresses) {
            add(new ARecord(name(host), DClass.IN, TTL, address(a)));
        }
        return this;
    }

    public SignedZone aaaa(String host, String... addresses) {
        for (String a : addresses) {
            add(new AAAARecord(name(host), DClass.IN, TTL, address(a)));
        }
        return this;
    }

    public SignedZone mx(String domain, int preference, String host) {
        return add(new MXRecord(name(domain), DClass.IN, TTL, preference, name(host)));
    }

    public SignedZone cname(String alias, String target) {
        return add(new CNAMERecord(name(alias), DClass.IN, TTL, name(target)));
    }

    public SignedZone txt(String owner, String text) {
        return add(new TXTRecord(name(owner), DClass.IN, TTL, text));
    }

    /** A TLSA record given as {@code "3 1 1 <hex>"} at {@code owner}, e.g. {@code _25._tcp.mx.example.test}. */
    public SignedZone tlsa(String owner, String record) {
        TlsaRecord t = TlsaRecord.parse(record);
        return add(
                new TLSARecord(
                        name(owner),
                        DClass.IN,
                        TTL,
                        t.usage(),
                        t.selector(),
                        t.matchingType(),
                        t.data()));
    }

    /** Adds any record; its owner must be in this zone (at or below the apex, not below a delegation). */
    public SignedZone add(Record r) {
        if (!r.getName().subdomain(apex)) {
            throw new IllegalArgumentException(r.getName() + " is not in zone " + apex);
        }
        data.computeIfAbsent(r.getName(), n -> new CopyOnWriteArrayList<>()).add(r);
        return this;
    }

    /** Removes the records of one type at {@code owner}. */
    public SignedZone remove(String owner, String type) {
        int t = Type.value(type);
        data.computeIfPresent(
                name(owner),
                (n, rs) -> {
                    List<Record> kept =
                            new CopyOnWriteArrayList<>(
                                    rs.stream().filter(r -> r.getType() != t).toList());
                    return kept.isEmpty() ? null : kept;
                });
        return this;
    }

    /**
     * Delegates {@code child} (whose apex must be directly or further below this apex): NS records and, when the
     * child is signed, a DS record for its KSK. Serving this zone then serves the child too.
     */
    public SignedZone delegate(SignedZone child) {
        if (!child.apex.subdomain(apex) || child.apex.equals(apex)) {
            throw new IllegalArgumentException(child.apex + " is not below " + apex);
        }
        add(new NSRecord(child.apex, DClass.IN, TTL, name("ns." + text(child.apex))));
        if (child.signed) {
            add(child.ds());
        }
        children.add(child);
        return this;
    }

    /** The zones delegated from this one. */
    public List<SignedZone> children() {
        return List.copyOf(children);
    }

    /** Makes the signature of the {@code type} RRset at {@code owner} invalid: answers with it are bogus. */
    public SignedZone tamper(String owner, String type) {
        tampered.add(key(name(owner), Type.value(type)));
        return this;
    }

    // ---- keys and anchors ----

    /** The DS record (SHA-256) of this zone's KSK, as the parent publishes it. */
    public DSRecord ds() {
        requireSigned();
        return new DSRecord(apex, DClass.IN, TTL, DNSSEC.Digest.SHA256, ksk);
    }

    /** A trust anchor for this zone in zone-file form (its DS record), for a validating resolver. */
    public String trustAnchor() {
        return ds().toString() + "\n";
    }

    // ---- answering ----

    /**
     * The part of an answer this zone gives for {@code qname}/{@code qtype}.
     *
     * @param answer records for the answer section (a CNAME, or the RRset), with their signatures
     * @param authority records for the authority section (SOA and NSEC proofs of a negative answer)
     * @param cnameTarget where a CNAME points, for the server to go on with; null when the answer is final
     */
    record Answer(int rcode, List<Record> answer, List<Record> authority, Name cnameTarget) {}

    /** Whether {@code n} is in this zone: at or below the apex and not at or below a child's apex. */
    boolean contains(Name n) {
        return n.subdomain(apex) && children.stream().noneMatch(c -> n.subdomain(c.apex));
    }

    Answer answer(Name qname, int qtype, boolean dnssec) {
        boolean withSigs = dnssec && signed;
        List<Record> answer = new ArrayList<>();
        List<Record> authority = new ArrayList<>();
        List<Record> here = records(qname);
        // Delegation points: only DS (and the NSEC proving there is none) are this zone's data
        // there.
        boolean delegation = children.stream().anyMatch(c -> c.apex.equals(qname));
        List<Record> matching = here.stream().filter(r -> r.getType() == qtype).toList();
        if (!matching.isEmpty() && (!delegation || qtype == Type.DS)) {
            answer.addAll(matching);
            if (withSigs) {
                answer.add(sign(matching));
            }
            return new Answer(Rcode.NOERROR, answer, authority, null);
        }
        Record cname =
                here.stream().filter(r -> r.getType() == Type.CNAME).findFirst().orElse(null);
        if (cname != null && qtype != Type.CNAME) {
            answer.add(cname);
            if (withSigs) {
                answer.add(sign(List.of(cname)));
            }
            return new Answer(Rcode.NOERROR, answer, authority, ((CNAMERecord) cname).getTarget());
        }
        List<Record> soa = records(apex).stream().filter(r -> r.getType() == Type.SOA).toList();
        authority.addAll(soa);
        if (withSigs) {
            authority.add(sign(soa));
        }
        if (withSigs && denial != Denial.NSEC) {
            Nsec3Chain chain = nsec3Chain();
            boolean exists = exists(qname);
            // NODATA: the NSEC3 of the name (RFC 5155 §7.2.3); a name without one (an empty
            // non-terminal above only Opt-Out delegations, or such a delegation asked for DS) gets
            // the closest encloser proof whose next closer name an Opt-Out span covers (§7.2.4,
            // errata 3441). NXDOMAIN: that proof and the wildcard's.
            List<NSEC3Record> proof =
                    exists && chain.matching(qname).isPresent()
                            ? List.of(chain.matching(qname).get())
                            : chain.closestEncloserProof(qname, !exists);
            proof.forEach(n -> addSigned(authority, n));
            return new Answer(exists ? Rcode.NOERROR : Rcode.NXDOMAIN, answer, authority, null);
        }
        TreeMap<Name, NSECRecord> chain = withSigs ? nsecChain() : new TreeMap<>();
        if (exists(qname)) {
            // NODATA (RFC 4035 §3.1.3.1): the NSEC of the name; for an empty non-terminal the one
            // covering it.
            if (withSigs) {
                NSECRecord nsec =
                        chain.containsKey(qname) ? chain.get(qname) : covering(chain, qname);
                addSigned(authority, nsec);
            }
            return new Answer(Rcode.NOERROR, answer, authority, null);
        }
        // NXDOMAIN (RFC 4035 §3.1.3.2): the NSEC covering the name and the one covering the
        // wildcard that could have produced it at the closest encloser.
        if (withSigs) {
            Name encloser = qname;
            while (!exists(encloser)) {
                encloser = new Name(encloser, 1);
            }
            NSECRecord covers = covering(chain, qname);
            addSigned(authority, covers);
            NSECRecord wildcard = covering(chain, wild(encloser));
            if (!wildcard.equals(covers)) {
                addSigned(authority, wildcard);
            }
        }
        return new Answer(Rcode.NXDOMAIN, answer, authority, null);
    }

    private void addSigned(List<Record> section, Record nsec) {
        section.add(nsec);
        section.add(sign(List.of(nsec)));
    }

    /** Owner names of this zone's data, names below a delegation point excluded (RFC 4035 §2.3). */
    private TreeSet<Name> owners() {
        TreeSet<Name> owners =
                new TreeSet<>(); // Name.compareTo is the DNSSEC canonical order (RFC 4034 §6.1)
        for (Name n : data.keySet()) {
            if (contains(n) || children.stream().anyMatch(c -> c.apex.equals(n))) {
                owners.add(n);
            }
        }
        return owners;
    }

    /** Whether {@code n} exists: it owns records, or a name below it does (an empty non-terminal, RFC 4592 §2.2.2). */
    private boolean exists(Name n) {
        return owners().stream().anyMatch(o -> o.subdomain(n));
    }

    /**
     * The NSEC3 chain: every owner name and every empty non-terminal above one, each with the types there (RRSIG
     * wherever this zone signs something); with Opt-Out, not the insecure delegations nor what is above only them.
     */
    private Nsec3Chain nsec3Chain() {
        boolean optOut = denial == Denial.NSEC3_OPT_OUT;
        Map<Name, Set<Integer>> names = new TreeMap<>();
        for (Name owner : owners()) {
            boolean insecureDelegation =
                    children.stream().anyMatch(c -> c.apex.equals(owner) && !c.signed);
            if (optOut && insecureDelegation) {
                continue;
            }
            Set<Integer> types = new TreeSet<>();
            for (Record r : records(owner)) {
                types.add(r.getType());
            }
            if (!insecureDelegation) {
                types.add(Type.RRSIG);
            }
            names.put(owner, types);
            for (Name n = owner; !n.equals(apex); ) {
                n = new Name(n, 1);
                names.putIfAbsent(n, new TreeSet<>());
            }
        }
        return new Nsec3Chain(apex, optOut, TTL, names);
    }

    private TreeMap<Name, NSECRecord> nsecChain() {
        List<Name> names = new ArrayList<>(owners());
        TreeMap<Name, NSECRecord> chain = new TreeMap<>();
        for (int i = 0; i < names.size(); i++) {
            Name owner = names.get(i);
            Name next = names.get((i + 1) % names.size()); // the last one points back at the apex
            TreeSet<Integer> types = new TreeSet<>();
            for (Record r : records(owner)) {
                types.add(r.getType());
            }
            types.add(
                    Type.RRSIG); // the NSEC itself is signed, also at an insecure delegation point
            types.add(Type.NSEC);
            chain.put(
                    owner,
                    new NSECRecord(
                            owner,
                            DClass.IN,
                            TTL,
                            next,
                            types.stream().mapToInt(Integer::intValue).toArray()));
        }
        return chain;
    }

    /** The NSEC whose owner is before {@code n} and whose next name after it, in canonical order (wrapping round). */
    private static NSECRecord covering(TreeMap<Name, NSECRecord> chain, Name n) {
        Map.Entry<Name, NSECRecord> before = chain.lowerEntry(n);
        return before != null ? before.getValue() : chain.lastEntry().getValue();
    }

    private List<Record> records(Name n) {
        return data.getOrDefault(n, List.of());
    }

    private RRSIGRecord sign(List<Record> rrset) {
        Record first = rrset.get(0);
        boolean keys = first.getType() == Type.DNSKEY;
        RRset set = new RRset();
        rrset.forEach(set::addRR);
        Instant now = Instant.now();
        try {
            RRSIGRecord sig =
                    DNSSEC.sign(
                            set,
                            keys ? ksk : zsk,
                            keys ? kskKeys.getPrivate() : zskKeys.getPrivate(),
                            now.minus(Duration.ofHours(1)),
                            now.plus(Duration.ofDays(1)));
            if (tampered.contains(key(first.getName(), first.getType()))) {
                byte[] s = sig.getSignature();
                s[s.length / 2] ^= 0x55;
                sig =
                        new RRSIGRecord(
                                sig.getName(),
                                sig.getDClass(),
                                sig.getTTL(),
                                sig.getTypeCovered(),
                                sig.getAlgorithm(),
                                sig.getOrigTTL(),
                                sig.getExpire(),
                                sig.getTimeSigned(),
                                sig.getFootprint(),
                                sig.getSigner(),
                                s);
            }
            return sig;
        } catch (DNSSEC.DNSSECException e) {
            throw new IllegalStateException(
                    "cannot sign " + first.getName() + "/" + Type.string(first.getType()), e);
        }
    }

    private void requireSigned() {
        if (!signed) {
            throw new IllegalStateException(apex + " is not signed");
        }
    }

    private static String key(Name n, int type) {
        return n + "/" + type;
    }

    private static Name wild(Name encloser) {
        try {
            return Name.concatenate(Name.fromConstantString("*"), encloser);
        } catch (org.xbill.DNS.NameTooLongException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static KeyPair newKey() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static String text(Name n) {
        return n.toString();
    }

    static Name name(String text) {
        try {
            return Name.fromString(text.endsWith(".") ? text : text + ".");
        } catch (TextParseException e) {
            throw new IllegalArgumentException("\"" + text + "\" is not a DNS name", e);
        }
    }

    private static InetAddress address(String literal) {
        if (!literal.matches("[0-9a-fA-F:.]+")) {
            throw new IllegalArgumentException("\"" + literal + "\" is not an IP address literal");
        }
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
