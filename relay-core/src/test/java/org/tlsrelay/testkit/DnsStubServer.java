package org.tlsrelay.testkit;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.tlsrelay.core.config.HostPort;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * A real DNS server on 127.0.0.1, UDP and TCP on the same port chosen by the system, answering from a zone map that
 * the test sets and changes while it runs. It answers like an authoritative server: CNAME chains inside the map are
 * followed in the answer, a name with no record at all is NXDOMAIN, a name with records of other types is NODATA.
 * Records are served with TTL 0 so that no client cache hides a change.
 *
 * <pre>{@code
 * try (DnsStubServer dns = DnsStubServer.start()) {
 *     dns.mx("example.com", 10, "mx1.example.com").a("mx1.example.com", "127.0.0.1")
 *        .txt("_mta-sts.example.com", "v=STSv1; id=1");
 *     config: dns.servers = [dns.address()]
 * }
 * }</pre>
 * Switches: {@link #servfail}, {@link #drop} (never answer: the client times out), {@link #truncateUdp} (every UDP
 * answer is truncated, so clients must retry over TCP). Every query is logged ({@link #queries()}).
 *
 * <p>DNSSEC: {@link #serve} adds a {@link SignedZone} (and the zones it delegates). Names in a served zone are
 * answered from it, with RRSIGs and NSEC proofs when the query has the DO bit, like a recursive resolver that has the
 * whole tree; a CNAME chain may cross zones and the flat records. A DS query for a zone's apex is answered by its
 * parent zone, as in the real tree.
 */
public final class DnsStubServer implements AutoCloseable {

    /** One query as received: the name (lower case, no trailing dot), the type mnemonic and the transport. */
    public record Query(String name, String type, boolean tcp) {}

    private final DatagramSocket udp;
    private final ServerSocket tcp;
    private final ExecutorService threads =
            Executors.newCachedThreadPool(
                    r -> {
                        Thread t = new Thread(r, "dns-stub");
                        t.setDaemon(true);
                        return t;
                    });
    private final Map<Name, List<Record>> zone = new ConcurrentHashMap<>();
    private final List<SignedZone> signedZones = new CopyOnWriteArrayList<>();
    private final Set<Name> servfail = ConcurrentHashMap.newKeySet();
    private final Set<Name> drop = ConcurrentHashMap.newKeySet();
    private final List<Query> queries = new CopyOnWriteArrayList<>();
    private final List<Socket> connections = new CopyOnWriteArrayList<>();
    private volatile boolean truncateUdp;
    private volatile boolean recursion = true;
    private volatile long negativeTtl;
    private volatile boolean closed;

    private DnsStubServer(DatagramSocket udp, ServerSocket tcp) {
        this.udp = udp;
        this.tcp = tcp;
    }

    /** Starts the server on 127.0.0.1, UDP and TCP on one port chosen by the system. */
    public static DnsStubServer start() throws IOException {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        for (int attempt = 0; ; attempt++) {
            DatagramSocket udp = new DatagramSocket(new InetSocketAddress(loopback, 0));
            ServerSocket tcp = new ServerSocket();
            try {
                tcp.bind(new InetSocketAddress(loopback, udp.getLocalPort()));
            } catch (BindException e) {
                // The TCP port of that number is taken by someone else: try another UDP port.
                udp.close();
                tcp.close();
                if (attempt >= 50) {
                    throw e;
                }
                continue;
            }
            DnsStubServer s = new DnsStubServer(udp, tcp);
            s.threads.execute(s::serveUdp);
            s.threads.execute(s::acceptTcp);
            return s;
        }
    }

    /** Where to send queries: 127.0.0.1 and the port, for {@code dns.servers}. */
    public HostPort address() {
        return new HostPort("127.0.0.1", port());
    }

    public int port() {
        return udp.getLocalPort();
    }

    // ---- the zone ----

    /** Adds an MX record. */
    public DnsStubServer mx(String domain, int preference, String host) {
        return record(new MXRecord(name(domain), DClass.IN, 0, preference, name(host)));
    }

    /** Adds a null MX ({@code MX 0 .}, RFC 7505). */
    public DnsStubServer nullMx(String domain) {
        return record(new MXRecord(name(domain), DClass.IN, 0, 0, Name.root));
    }

    /** Adds one A record per address. */
    public DnsStubServer a(String host, String... addresses) {
        for (String address : addresses) {
            record(new ARecord(name(host), DClass.IN, 0, parseAddress(address, 4)));
        }
        return this;
    }

    /** Adds one AAAA record per address. */
    public DnsStubServer aaaa(String host, String... addresses) {
        for (String address : addresses) {
            record(new AAAARecord(name(host), DClass.IN, 0, parseAddress(address, 16)));
        }
        return this;
    }

    /**
     * Adds one TXT record made of the given character-strings. A single string longer than 255 octets is split into
     * 255-octet pieces, as zone files do.
     */
    public DnsStubServer txt(String name, String... strings) {
        List<String> parts = new ArrayList<>();
        for (String s : strings) {
            if (strings.length == 1 && s.length() > 255) {
                for (int i = 0; i < s.length(); i += 255) {
                    parts.add(s.substring(i, Math.min(s.length(), i + 255)));
                }
            } else {
                parts.add(s);
            }
        }
        return record(new TXTRecord(name(name), DClass.IN, 0, parts));
    }

    /** Makes {@code alias} a CNAME for {@code target}. */
    public DnsStubServer cname(String alias, String target) {
        return record(new CNAMERecord(name(alias), DClass.IN, 0, name(target)));
    }

    /** Adds any record (e.g. TLSA), with its own TTL. */
    public DnsStubServer record(Record record) {
        zone.compute(
                record.getName(),
                (n, old) -> {
                    List<Record> list = old == null ? new ArrayList<>() : new ArrayList<>(old);
                    list.add(record);
                    return List.copyOf(list);
                });
        return this;
    }

    /**
     * Serves {@code z} and, recursively, the zones it delegates: names at or below their apexes are answered from
     * them (records added to the flat zone map for such names are not used).
     */
    public DnsStubServer serve(SignedZone z) {
        signedZones.add(z);
        z.children().forEach(this::serve);
        return this;
    }

    /** Removes every record of {@code name}: it becomes NXDOMAIN. */
    public DnsStubServer remove(String name) {
        zone.remove(name(name));
        return this;
    }

    /** Removes the records of one type ({@code "TXT"}, {@code "MX"}, ...) of {@code name}. */
    public DnsStubServer remove(String name, String type) {
        int t = Type.value(type);
        zone.computeIfPresent(
                name(name),
                (n, old) -> {
                    List<Record> kept = old.stream().filter(r -> r.getType() != t).toList();
                    return kept.isEmpty() ? null : kept;
                });
        return this;
    }

    /** Removes all records and switches; keeps the query log. */
    public DnsStubServer clear() {
        zone.clear();
        signedZones.clear();
        servfail.clear();
        drop.clear();
        truncateUdp = false;
        recursion = true;
        return this;
    }

    // ---- behaviour switches ----

    /** Answers SERVFAIL for every query about {@code name}. */
    public DnsStubServer servfail(String name) {
        servfail.add(name(name));
        return this;
    }

    /** Never answers queries about {@code name} (UDP or TCP): the client times out. */
    public DnsStubServer drop(String name) {
        drop.add(name(name));
        return this;
    }

    /** Undoes {@link #servfail} and {@link #drop} for {@code name}. */
    public DnsStubServer answerNormally(String name) {
        servfail.remove(name(name));
        drop.remove(name(name));
        return this;
    }

    /**
     * Negative answers (NXDOMAIN, NODATA) carry an SOA whose TTL and minimum are {@code seconds} (RFC 2308 §5), so
     * resolvers may cache them as they would a real zone's; 0 (the default) keeps tests free of negative caching.
     */
    public DnsStubServer negativeTtl(long seconds) {
        negativeTtl = seconds;
        return this;
    }

    /**
     * Off: the server acts as an authoritative-only server of the served signed zones: no RA flag (RFC 1035
     * §4.1.1), REFUSED for every other name. On (the default): RA set, every name answered.
     */
    public DnsStubServer recursion(boolean on) {
        recursion = on;
        return this;
    }

    /** When on, every UDP answer comes back truncated (TC=1, no records), so the client must ask again over TCP. */
    public DnsStubServer truncateUdp(boolean on) {
        truncateUdp = on;
        return this;
    }

    // ---- the query log ----

    public List<Query> queries() {
        return List.copyOf(queries);
    }

    /** How many queries for {@code name} of {@code type} arrived (both transports). */
    public long queryCount(String name, String type) {
        String n = normalise(name);
        return queries.stream().filter(q -> q.name().equals(n) && q.type().equals(type)).count();
    }

    public void clearQueries() {
        queries.clear();
    }

    @Override
    public void close() {
        closed = true;
        udp.close();
        try {
            tcp.close();
        } catch (IOException e) {
            // closing anyway
        }
        for (Socket s : connections) {
            try {
                s.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
        threads.shutdownNow();
    }

    // ---- serving ----

    private void serveUdp() {
        byte[] buffer = new byte[65535];
        while (!closed) {
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            try {
                udp.receive(packet);
                Message query;
                try {
                    query =
                            new Message(
                                    java.util.Arrays.copyOf(packet.getData(), packet.getLength()));
                } catch (IOException e) {
                    continue; // not DNS: a real server drops it too
                }
                Message response = answer(query, false);
                if (response == null) {
                    continue;
                }
                byte[] wire = udpWire(query, response);
                udp.send(new DatagramPacket(wire, wire.length, packet.getSocketAddress()));
            } catch (SocketException e) {
                return; // closed
            } catch (IOException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    private byte[] udpWire(Message query, Message response) {
        if (truncateUdp) {
            Message truncated = new Message(response.getHeader().getID());
            truncated.getHeader().setFlag(Flags.QR);
            truncated.getHeader().setFlag(Flags.AA);
            truncated.getHeader().setFlag(Flags.TC);
            if (query.getHeader().getFlag(Flags.RD)) {
                truncated.getHeader().setFlag(Flags.RD);
            }
            truncated.addRecord(query.getQuestion(), Section.QUESTION);
            return truncated.toWire();
        }
        // RFC 1035 §4.2.1: 512 octets over UDP, more when the client says so with EDNS (RFC 6891
        // §6.2.3).
        OPTRecord opt = query.getOPT();
        int limit = opt == null ? 512 : Math.max(512, opt.getPayloadSize());
        return response.toWire(limit); // sets TC when it had to leave records out
    }

    private void acceptTcp() {
        while (!closed) {
            try {
                Socket s = tcp.accept();
                connections.add(s);
                threads.execute(() -> serveTcp(s));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serveTcp(Socket s) {
        try (s;
                DataInputStream in = new DataInputStream(s.getInputStream());
                DataOutputStream out = new DataOutputStream(s.getOutputStream())) {
            while (!closed) {
                int length = in.readUnsignedShort(); // RFC 1035 §4.2.2: two-octet length prefix
                byte[] wire = in.readNBytes(length);
                if (wire.length < length) {
                    return;
                }
                Message response = answer(new Message(wire), true);
                if (response == null) {
                    continue;
                }
                byte[] answer = response.toWire();
                out.writeShort(answer.length);
                out.write(answer);
                out.flush();
            }
        } catch (EOFException e) {
            // client done
        } catch (IOException e) {
            // closed or malformed: drop the connection
        } finally {
            connections.remove(s);
        }
    }

    /** The answer to {@code query}, or null to stay silent. */
    private Message answer(Message query, boolean viaTcp) {
        Record question = query.getQuestion();
        Message response = new Message(query.getHeader().getID());
        response.getHeader().setFlag(Flags.QR);
        if (question == null) {
            response.getHeader().setRcode(Rcode.FORMERR);
            return response;
        }
        queries.add(
                new Query(
                        normalise(question.getName().toString()),
                        Type.string(question.getType()),
                        viaTcp));
        if (drop.contains(question.getName())) {
            return null;
        }
        response.getHeader().setFlag(Flags.AA);
        if (query.getHeader().getFlag(Flags.RD)) {
            response.getHeader().setFlag(Flags.RD);
        }
        if (recursion) {
            response.getHeader().setFlag(Flags.RA); // it answers for every name, as a resolver does
        }
        response.addRecord(question, Section.QUESTION);
        if (!recursion && zoneFor(question.getName(), question.getType()) == null) {
            response.getHeader().setRcode(Rcode.REFUSED); // not one of its zones, as BIND says
            return response;
        }
        boolean dnssec = false;
        if (query.getOPT() != null) {
            // RFC 3225 §3: the DO bit is copied into the response
            dnssec = (query.getOPT().getFlags() & ExtendedFlags.DO) != 0;
            response.addRecord(
                    new OPTRecord(1232, 0, 0, dnssec ? ExtendedFlags.DO : 0), Section.ADDITIONAL);
        }
        if (servfail.contains(question.getName())) {
            response.getHeader().setRcode(Rcode.SERVFAIL);
            return response;
        }
        Name current = question.getName();
        int type = question.getType();
        for (int hops = 0; hops < 16; hops++) {
            if (servfail.contains(current)) {
                response.getHeader().setRcode(Rcode.SERVFAIL);
                return response;
            }
            SignedZone signed = zoneFor(current, type);
            if (signed != null) {
                SignedZone.Answer a = signed.answer(current, type, dnssec);
                a.answer().forEach(r -> addOnce(response, r, Section.ANSWER));
                if (a.cnameTarget() == null) {
                    a.authority().forEach(r -> addOnce(response, r, Section.AUTHORITY));
                    response.getHeader().setRcode(a.rcode());
                    return response;
                }
                current = a.cnameTarget();
                continue;
            }
            List<Record> records = zone.get(current);
            if (records == null) {
                response.getHeader()
                        .setRcode(
                                Rcode.NXDOMAIN); // RFC 6604: the code of the last name in the chain
                negativeSoa(response, current, dnssec);
                return response;
            }
            List<Record> matching =
                    records.stream().filter(r -> r.getType() == type || type == Type.ANY).toList();
            if (!matching.isEmpty()) {
                matching.forEach(r -> response.addRecord(r, Section.ANSWER));
                return response;
            }
            Record cname =
                    records.stream()
                            .filter(r -> r.getType() == Type.CNAME)
                            .findFirst()
                            .orElse(null);
            if (cname == null) {
                negativeSoa(response, current, dnssec);
                return response; // NODATA: NOERROR, empty answer
            }
            response.addRecord(cname, Section.ANSWER);
            current = ((CNAMERecord) cname).getTarget();
        }
        return response; // a CNAME loop: the chain so far, as a server with a hop limit would give
        // it
    }

    /**
     * The served zone that answers {@code n}: the deepest one containing it; for a DS query at a zone's apex, its
     * parent (RFC 4035 §3.1.4.1), when served.
     */
    private SignedZone zoneFor(Name n, int type) {
        SignedZone best = null;
        for (SignedZone z : signedZones) {
            if (z.contains(n) && (best == null || z.apex().labels() > best.apex().labels())) {
                best = z;
            }
        }
        if (best != null && type == Type.DS && best.apex().equals(n)) {
            for (SignedZone z : signedZones) {
                if (z.children().contains(best)) {
                    return z;
                }
            }
        }
        return best;
    }

    /**
     * For a validating client (DO bit), the SOA that a negative answer carries (RFC 2308 §3), owned by the name's
     * top-level label: without it a validator cannot tell which zone the answer is from. Unsigned, so outside the
     * served signed zones the answer is insecure.
     */
    private void negativeSoa(Message response, Name name, boolean dnssec) {
        long ttl = negativeTtl;
        if ((dnssec || ttl > 0) && name.labels() > 1) {
            Name top = new Name(name, name.labels() - 2);
            response.addRecord(
                    new SOARecord(
                            top,
                            DClass.IN,
                            ttl,
                            Name.fromConstantString("ns." + top),
                            Name.fromConstantString("hostmaster." + top),
                            1,
                            3600,
                            600,
                            86400,
                            ttl),
                    Section.AUTHORITY);
        }
    }

    private static void addOnce(Message m, Record r, int section) {
        if (!m.findRecord(r, section)) {
            m.addRecord(r, section);
        }
    }

    // ---- helpers ----

    private static Name name(String text) {
        try {
            return Name.fromString(text.endsWith(".") ? text : text + ".");
        } catch (TextParseException e) {
            throw new IllegalArgumentException("\"" + text + "\" is not a DNS name", e);
        }
    }

    private static String normalise(String name) {
        String n = name.toLowerCase(java.util.Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    private static InetAddress parseAddress(String text, int length) {
        byte[] bytes =
                org.xbill.DNS.Address.toByteArray(
                        text,
                        length == 4 ? org.xbill.DNS.Address.IPv4 : org.xbill.DNS.Address.IPv6);
        if (bytes == null) {
            throw new IllegalArgumentException(
                    "\"" + text + "\" is not an IPv" + (length == 4 ? "4" : "6") + " address");
        }
        try {
            return InetAddress.getByAddress(bytes);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
