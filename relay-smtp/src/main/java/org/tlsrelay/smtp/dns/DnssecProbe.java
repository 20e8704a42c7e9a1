package org.tlsrelay.smtp.dns;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dns.IpAddresses;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.RRSIGRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;
import org.xbill.DNS.dnssec.ValidatingResolver;

/**
 * Whether each DNS server of {@code dns.servers} can carry DNSSEC validation: asked for the DNSKEY RRset of every
 * trust anchor (the root's with the built-in anchors) with the DO bit (RFC 3225) and recursion desired, a
 * DNSSEC-capable resolver answers with recursion available, the keys and their RRSIGs, and the keys validate against
 * the anchors (RFC 4035 §5.2).
 *
 * <p>The check decides at start only what is certain: a server that, every time it is asked, answers without
 * DNSSEC data, or with keys the anchors do not validate, or as an authoritative-only server, is a configuration
 * error. An error answer (REFUSED, SERVFAIL) or no answer is not a statement about the server, since anyone on the
 * path can forge or drop it: it is reported but never switches validation off (RFC 7672 §2.1.1: such answers make
 * DANE look-ups fail, and delivery waits).
 */
public final class DnssecProbe {
    /** How often a server is asked before an answer counts as what it always says. */
    static final int ATTEMPTS = 3;

    private static final Duration PAUSE = Duration.ofMillis(200);

    /** What one server said. */
    public sealed interface Finding {
        InetSocketAddress server();

        /** Why, as a person reads it; empty for {@link Validates}. */
        String detail();

        /** Keys with signatures, and they validate against the trust anchors. */
        record Validates(InetSocketAddress server) implements Finding {
            @Override
            public String detail() {
                return "returns DNSSEC data that validates against the trust anchors";
            }
        }

        /** It answers, but never with the signatures (or keys): a stripping forwarder or a plain stub. */
        record NoDnssecData(InetSocketAddress server, String detail) implements Finding {
            @Override
            public String advice() {
                return "Nothing could be validated, so DANE could never apply. Point dns.servers at a"
                        + " DNSSEC-capable resolver (e.g. unbound, or BIND with DNSSEC), or set"
                        + " dns.dnssec: off to deliver without DANE knowingly.";
            }
        }

        /** Keys and signatures, but they do not validate against the configured trust anchors. */
        record AnchorsDoNotMatch(InetSocketAddress server, String detail) implements Finding {
            @Override
            public String advice() {
                return "Fix dns.trust-anchors (or the clock, if the signatures are said to be outside"
                        + " their validity), point dns.servers at a resolver of the DNS tree those"
                        + " anchors belong to, or set dns.dnssec: off to deliver without DANE knowingly.";
            }
        }

        /** It does not offer recursion (no RA flag): an authoritative-only server, or one that refuses this host. */
        record NotAResolver(InetSocketAddress server, String detail) implements Finding {
            @Override
            public String advice() {
                return "dns.servers must be recursive resolvers: point it at a DNSSEC-capable resolver"
                        + " (e.g. unbound) that answers this host, or set dns.dnssec: off to deliver"
                        + " without DANE knowingly.";
            }
        }

        /** An error answer or none: says nothing certain, so validation stays on and DANE look-ups wait. */
        record NoAnswer(InetSocketAddress server, String detail) implements Finding {}

        /** What to do about it; empty when nothing needs doing. */
        default String advice() {
            return "";
        }

        /** Whether this is a configuration error that the server states consistently. */
        default boolean misconfiguration() {
            return this instanceof NoDnssecData
                    || this instanceof AnchorsDoNotMatch
                    || this instanceof NotAResolver;
        }
    }

    /** The findings of one check, one per server. */
    public record Result(List<Finding> findings, String anchors) {
        public Result {
            findings = List.copyOf(findings);
        }

        /** Every server returns DNSSEC data that validates. */
        public boolean validates() {
            return findings.stream().allMatch(f -> f instanceof Finding.Validates);
        }

        /** The first configuration error, as the message that stops {@code run}: what is wrong and what to do. */
        public Optional<String> misconfiguration() {
            return findings.stream()
                    .filter(Finding::misconfiguration)
                    .findFirst()
                    .map(f -> "dns.dnssec is validate, but " + line(f) + ". " + f.advice());
        }

        /** One line per server, for {@code config check --probe-dns} and the log. */
        public List<String> lines() {
            return findings.stream().map(Result::line).toList();
        }

        /** The servers that did not answer the check usefully, for the log; empty when none. */
        public Optional<String> unanswered() {
            List<String> silent =
                    findings.stream()
                            .filter(f -> f instanceof Finding.NoAnswer)
                            .map(Result::line)
                            .toList();
            return silent.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", silent));
        }

        private static String line(Finding f) {
            return "dns.servers " + address(f.server()) + ": " + f.detail();
        }
    }

    private final List<InetSocketAddress> servers;
    private final Duration timeout;
    private final TrustAnchors anchors;
    private final Clock clock;

    DnssecProbe(
            List<InetSocketAddress> servers, Duration timeout, TrustAnchors anchors, Clock clock) {
        this.servers = List.copyOf(servers);
        this.timeout = timeout;
        this.anchors = anchors;
        this.clock = clock;
    }

    /**
     * The check of {@code dns.servers} (empty: the system's) against {@code dns.trust-anchors} (empty: the built-in
     * root anchors).
     *
     * @throws IOException when a trust anchor file cannot be read (the message names it)
     */
    public static DnssecProbe of(RelayConfig.Dns config) throws IOException {
        List<InetSocketAddress> servers = DnsjavaResolver.servers(config);
        return new DnssecProbe(
                servers.isEmpty() ? ResolverConfig.getCurrentConfig().servers() : servers,
                config.timeout(),
                TrustAnchors.configured(config.trustAnchors()),
                Clock.systemUTC());
    }

    /**
     * Asks every server, each up to {@link #ATTEMPTS} times: a server that validates once is fine; a configuration
     * error counts only when every attempt said the same; anything else is {@link Finding.NoAnswer}. Blocks for at
     * most about {@code ATTEMPTS * 2 * timeout} per server.
     */
    public Result check() {
        List<Finding> findings = new ArrayList<>();
        for (InetSocketAddress server : servers) {
            findings.add(check(server));
        }
        return new Result(findings, anchors.source());
    }

    private Finding check(InetSocketAddress server) {
        Finding first = null;
        boolean consistent = true;
        Finding last = null;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            if (attempt > 0) {
                pause();
            }
            last = once(server);
            if (last instanceof Finding.Validates) {
                return last;
            }
            if (first == null) {
                first = last;
            } else if (first.getClass() != last.getClass()) {
                consistent = false;
            }
        }
        if (last.misconfiguration() && consistent) {
            return last;
        }
        if (last instanceof Finding.NoAnswer) {
            return last;
        }
        return new Finding.NoAnswer(
                server, "answered the DNSSEC check inconsistently (last: " + last.detail() + ")");
    }

    /** One attempt: the raw answer first (is there DNSSEC data at all?), then the validated one. */
    Finding once(InetSocketAddress server) {
        for (Name anchor : anchors.names()) {
            String what = "the DNSKEY records of \"" + anchor + "\"";
            Message answer;
            try {
                answer = resolver(server).send(query(anchor));
            } catch (IOException e) {
                return new Finding.NoAnswer(
                        server,
                        "no answer to the DNSSEC check ("
                                + what
                                + ") within "
                                + timeout.toMillis()
                                + "ms");
            }
            int rcode = answer.getRcode();
            if (!answer.getHeader().getFlag(Flags.RA)) {
                return new Finding.NotAResolver(
                        server,
                        "asked for "
                                + what
                                + ", it answered "
                                + Rcode.string(rcode)
                                + " without offering recursion (no RA flag), "
                                + ATTEMPTS
                                + " times: an authoritative-only server, or a resolver that refuses"
                                + " this host");
            }
            if (rcode != Rcode.NOERROR) {
                return new Finding.NoAnswer(
                        server, "answered the DNSSEC check (" + what + ") " + Rcode.string(rcode));
            }
            List<Record> records = answer.getSection(Section.ANSWER);
            boolean keys = records.stream().anyMatch(r -> r.getType() == Type.DNSKEY);
            boolean sigs =
                    records.stream()
                            .anyMatch(
                                    r ->
                                            r instanceof RRSIGRecord s
                                                    && s.getTypeCovered() == Type.DNSKEY);
            if (!keys || !sigs) {
                return new Finding.NoDnssecData(
                        server,
                        "asked with the DO bit for "
                                + what
                                + ", it answered "
                                + (keys ? "them without signatures (RRSIG)" : "without them")
                                + ", "
                                + ATTEMPTS
                                + " times: it gives no DNSSEC data (a forwarder that strips it, or"
                                + " a server without DNSSEC)");
            }
            Finding validated = validate(server, anchor, what);
            if (!(validated instanceof Finding.Validates)) {
                return validated;
            }
        }
        return new Finding.Validates(server);
    }

    private Finding validate(InetSocketAddress server, Name anchor, String what) {
        ValidatingResolver validator = new ValidatingResolver(resolver(server), clock);
        try {
            validator.loadTrustAnchors(anchors.stream());
        } catch (IOException e) {
            throw new IllegalArgumentException(anchors.source() + ": " + e.getMessage(), e);
        }
        Message answer;
        try {
            answer =
                    validator.send(
                            Message.newQuery(Record.newRecord(anchor, Type.DNSKEY, DClass.IN)));
        } catch (IOException e) {
            return new Finding.NoAnswer(
                    server, "no answer while validating " + what + ": " + e.getMessage());
        }
        if (answer.getHeader().getFlag(Flags.AD)) {
            return new Finding.Validates(server);
        }
        String reason = DnssecResolver.validationReason(answer).orElse("no reason given");
        if (reason.startsWith(DnssecResolver.UPSTREAM_ERROR)) {
            return new Finding.NoAnswer(
                    server, "an error answer while validating " + what + ": " + reason);
        }
        return new Finding.AnchorsDoNotMatch(
                server,
                what
                        + " do not validate against the trust anchors ("
                        + anchors.source()
                        + "): "
                        + reason);
    }

    private SimpleResolver resolver(InetSocketAddress server) {
        SimpleResolver r = new SimpleResolver(server);
        r.setTimeout(timeout);
        return r;
    }

    private static Message query(Name anchor) {
        Message query = Message.newQuery(Record.newRecord(anchor, Type.DNSKEY, DClass.IN));
        query.addRecord(new OPTRecord(1232, 0, 0, ExtendedFlags.DO), Section.ADDITIONAL);
        return query;
    }

    private static void pause() {
        try {
            Thread.sleep(PAUSE.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String address(InetSocketAddress a) {
        return IpAddresses.withPort(a);
    }

    @Override
    public String toString() {
        return servers.stream().map(DnssecProbe::address).toList() + " against " + anchors.source();
    }
}
