package org.tlsrelay.testkit;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BiFunction;
import org.tlsrelay.core.config.HostPort;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * A DNS proxy on 127.0.0.1 (UDP and TCP on one port chosen by the system) in front of one upstream server, what an
 * on-path attacker or a broken middlebox is: a {@link Rule} decides per query whether it is passed on, answered with
 * an error code, dropped, or passed on with DNSSEC stripped (the query without the DO bit, the answer without
 * RRSIG, NSEC and NSEC3 records, as old forwarders do). Upstream queries go over TCP, so nothing is truncated.
 */
public final class DnsProxy implements AutoCloseable {

    /** What the proxy does with one query. */
    public enum Action {
        PASS,
        REFUSED,
        SERVFAIL,
        DROP,
        STRIP_DNSSEC
    }

    /** Decides per query name and type. */
    @FunctionalInterface
    public interface Rule extends BiFunction<Name, Integer, Action> {
        /** Everything passes except the {@code type} query for {@code name}, which gets {@code action}. */
        static Rule only(String name, String type, Action action) {
            Name n = SignedZone.name(name);
            int t = Type.value(type);
            return (qname, qtype) -> qname.equals(n) && qtype == t ? action : Action.PASS;
        }

        /** The same action for every query. */
        static Rule always(Action action) {
            return (qname, qtype) -> action;
        }
    }

    private final InetSocketAddress upstream;
    private final DatagramSocket udp;
    private final ServerSocket tcp;
    private final List<Socket> connections = new CopyOnWriteArrayList<>();
    private final ExecutorService threads =
            Executors.newCachedThreadPool(
                    r -> {
                        Thread t = new Thread(r, "dns-proxy");
                        t.setDaemon(true);
                        return t;
                    });
    private volatile Rule rule;
    private volatile boolean closed;

    private DnsProxy(InetSocketAddress upstream, DatagramSocket udp, ServerSocket tcp, Rule rule) {
        this.upstream = upstream;
        this.udp = udp;
        this.tcp = tcp;
        this.rule = rule;
    }

    /** Starts a proxy in front of {@code upstream}. */
    public static DnsProxy start(HostPort upstream, Rule rule) throws IOException {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        for (int attempt = 0; ; attempt++) {
            DatagramSocket udp = new DatagramSocket(new InetSocketAddress(loopback, 0));
            ServerSocket tcp = new ServerSocket();
            try {
                tcp.bind(new InetSocketAddress(loopback, udp.getLocalPort()));
            } catch (IOException e) {
                udp.close();
                tcp.close();
                if (attempt >= 50) {
                    throw e;
                }
                continue;
            }
            DnsProxy p = new DnsProxy(upstream.toSocketAddress(), udp, tcp, rule);
            p.threads.execute(p::serveUdp);
            p.threads.execute(p::acceptTcp);
            return p;
        }
    }

    /** Where to send queries, for {@code dns.servers}. */
    public HostPort address() {
        return new HostPort("127.0.0.1", udp.getLocalPort());
    }

    /** Replaces the rule for the queries still to come. */
    public void rule(Rule r) {
        rule = r;
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

    private void serveUdp() {
        byte[] buffer = new byte[65535];
        while (!closed) {
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            try {
                udp.receive(packet);
                byte[] wire = Arrays.copyOf(packet.getData(), packet.getLength());
                var from = packet.getSocketAddress();
                threads.execute(
                        () -> {
                            try {
                                Message query = new Message(wire);
                                Message response = handle(query);
                                if (response != null) {
                                    OPTRecord opt = query.getOPT();
                                    int limit =
                                            opt == null ? 512 : Math.max(512, opt.getPayloadSize());
                                    byte[] out = response.toWire(limit);
                                    udp.send(new DatagramPacket(out, out.length, from));
                                }
                            } catch (IOException e) {
                                // not DNS, or upstream gone: no answer, as a real proxy
                            }
                        });
            } catch (SocketException e) {
                return; // closed
            } catch (IOException e) {
                if (closed) {
                    return;
                }
            }
        }
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
                byte[] wire = in.readNBytes(in.readUnsignedShort());
                Message response = handle(new Message(wire));
                if (response == null) {
                    continue; // dropped: the client times out
                }
                byte[] answer = response.toWire();
                out.writeShort(answer.length);
                out.write(answer);
                out.flush();
            }
        } catch (EOFException e) {
            // client done
        } catch (IOException e) {
            // closed or malformed
        } finally {
            connections.remove(s);
        }
    }

    /** The answer for the client, or null to stay silent. */
    private Message handle(Message query) throws IOException {
        Record q = query.getQuestion();
        Action action = q == null ? Action.PASS : rule.apply(q.getName(), q.getType());
        return switch (action) {
            case DROP -> null;
            case REFUSED, SERVFAIL ->
                    error(query, action == Action.REFUSED ? Rcode.REFUSED : Rcode.SERVFAIL);
            case PASS -> forward(query);
            case STRIP_DNSSEC -> stripped(query);
        };
    }

    private static Message error(Message query, int rcode) {
        Message m = new Message(query.getHeader().getID());
        m.getHeader().setFlag(Flags.QR);
        m.getHeader().setFlag(Flags.RA);
        if (query.getHeader().getFlag(Flags.RD)) {
            m.getHeader().setFlag(Flags.RD);
        }
        m.getHeader().setRcode(rcode);
        m.addRecord(query.getQuestion(), Section.QUESTION);
        return m;
    }

    private Message stripped(Message query) throws IOException {
        Message plain = query.clone();
        OPTRecord opt = plain.getOPT();
        if (opt != null) {
            plain.removeRecord(opt, Section.ADDITIONAL);
            plain.addRecord(new OPTRecord(opt.getPayloadSize(), 0, 0, 0), Section.ADDITIONAL);
        }
        Message answer = forward(plain);
        for (int section : new int[] {Section.ANSWER, Section.AUTHORITY, Section.ADDITIONAL}) {
            for (Record r : answer.getSection(section)) {
                int t = r.getType();
                if (t == Type.RRSIG || t == Type.NSEC || t == Type.NSEC3) {
                    answer.removeRecord(r, section);
                }
            }
        }
        answer.getHeader().unsetFlag(Flags.AD);
        return answer;
    }

    private Message forward(Message query) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(upstream, 5000);
            s.setSoTimeout(10_000);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            byte[] wire = query.toWire();
            out.writeShort(wire.length);
            out.write(wire);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            return new Message(in.readNBytes(in.readUnsignedShort()));
        }
    }
}
