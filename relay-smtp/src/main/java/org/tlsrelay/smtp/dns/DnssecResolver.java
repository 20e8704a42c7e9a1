package org.tlsrelay.smtp.dns;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.dns.DnsSecurity;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.dnssec.ValidatingResolver;

/**
 * A {@link DnsResolver} that validates DNSSEC (RFC 4035 §5) with dnsjava's {@link ValidatingResolver}, for the
 * look-ups DANE relies on (RFC 7672 §2.1: the MX RRset, the MX hosts' address records, TLSA). Everything else keeps
 * using the faster {@link DnsjavaResolver}.
 *
 * <p>The upstream servers ({@code dns.servers}) must be recursive resolvers that return DNSSEC records when asked
 * (the DO bit); queries go out with CD set, so the validation here is the one that counts. Answers are sorted out by
 * what the validator left in the message:
 * <ul>
 *   <li>AD set: every RRset (and CNAME) of the answer, or the proof of absence, validated: {@link DnsSecurity#SECURE}.
 *   </li>
 *   <li>No AD, but the validator's reason record: provably insecure (below an insecure delegation, or not below any
 *   trust anchor): {@link DnsSecurity#INSECURE}.</li>
 *   <li>SERVFAIL with a validation reason: bogus, a {@link DnsResult.Failure#BOGUS} failure carrying the reason;
 *   never data.</li>
 *   <li>No AD and no reason: the validation did not finish (e.g. a DNSKEY query timed out): also
 *   {@link DnsResult.Failure#BOGUS}, since the answer's security is unknown and must not be taken as insecure;
 *   except an NSEC3 Opt-Out NODATA, which the validator finds insecure without saying why ({@link OptOutNodata}
 *   checks its proof): insecure NODATA, as unbound and BIND's delv call it.</li>
 *   <li>A timeout or an upstream error: the usual {@link DnsResult.Failure}s.</li>
 * </ul>
 * CNAMEs are followed within the answer and, when a resolver left the chain unfinished, by asking again; the result
 * is secure only when every step was (RFC 7672 §2.2.3). There is no answer cache (the validator keeps validated keys).
 * Every answer it cannot accept is told to {@link Failures} (one WARN line each, unless the relay's
 * {@link DnssecMonitor} takes them).
 */
public final class DnssecResolver extends RecordLookups {
    /** The validator's reason for an rcode it cannot validate (SERVFAIL, REFUSED...). */
    static final String UPSTREAM_ERROR = "Response subtype is UNKNOWN";

    private static final Logger LOG = LoggerFactory.getLogger(DnssecResolver.class);

    /** Told of every look-up whose answer the validator could not accept. */
    public interface Failures {
        /**
         * @param what the name and type asked, e.g. {@code example.com/MX}
         * @param reason why, from the validator
         */
        void failed(String what, String reason);

        /** One WARN line per failure. */
        static Failures log() {
            return (what, reason) -> LOG.warn("DNSSEC: {} cannot be validated ({})", what, reason);
        }
    }

    private final ValidatingResolver validator;
    private final String description;
    private final Clock clock;
    private final Failures failures;

    private DnssecResolver(
            ValidatingResolver validator, String description, Clock clock, Failures failures) {
        this.validator = validator;
        this.description = description;
        this.clock = clock;
        this.failures = failures;
    }

    /**
     * The validating resolver the configuration asks for: {@code dns.servers} (empty: the system's), {@code dns.timeout}
     * per query, and the anchors of {@code dns.trust-anchors} (empty: the built-in IANA root anchors).
     *
     * @throws IOException when a trust anchor file cannot be read (the message names it)
     */
    public static DnssecResolver create(RelayConfig.Dns config) throws IOException {
        return create(config, Failures.log());
    }

    /** As {@link #create(RelayConfig.Dns)}, telling {@code failures} of every answer it cannot accept. */
    static DnssecResolver create(RelayConfig.Dns config, Failures failures) throws IOException {
        return create(
                DnsjavaResolver.servers(config),
                config.timeout(),
                TrustAnchors.configured(config.trustAnchors()),
                Clock.systemUTC(),
                failures);
    }

    /** A validating resolver asking {@code servers} (empty: the system's) and trusting {@code anchors}. */
    public static DnssecResolver create(
            List<InetSocketAddress> servers, Duration timeout, TrustAnchors anchors, Clock clock) {
        return create(servers, timeout, anchors, clock, Failures.log());
    }

    static DnssecResolver create(
            List<InetSocketAddress> servers,
            Duration timeout,
            TrustAnchors anchors,
            Clock clock,
            Failures failures) {
        List<InetSocketAddress> use =
                servers.isEmpty() ? ResolverConfig.getCurrentConfig().servers() : servers;
        ValidatingResolver validator =
                new ValidatingResolver(DnsjavaResolver.upstream(use, timeout), clock);
        try {
            validator.loadTrustAnchors(anchors.stream());
        } catch (IOException e) {
            throw new IllegalArgumentException(anchors.source() + ": " + e.getMessage(), e);
        }
        return new DnssecResolver(
                validator,
                "DNSSEC-validating DNS "
                        + use
                        + " (timeout "
                        + timeout.toMillis()
                        + "ms, trust anchors: "
                        + anchors.source()
                        + ")",
                clock,
                failures);
    }

    @Override
    public String toString() {
        return description;
    }

    /**
     * The result is secure only when both families' answers are, and a bogus answer for either family is a failure,
     * whatever the other family says (a bogus record is never used).
     */
    @Override
    DnsResult<List<InetAddress>> combine(
            DnsResult<List<InetAddress>> v4, DnsResult<List<InetAddress>> v6) {
        for (DnsResult<List<InetAddress>> r : List.of(v4, v6)) {
            if (r instanceof DnsResult.Failed<List<InetAddress>> f
                    && f.failure() == DnsResult.Failure.BOGUS) {
                return r;
            }
        }
        DnsResult<List<InetAddress>> both = families(v4, v6);
        // Secure only if every family that answered did so securely; a failed family (not bogus) is
        // left out, as the non-validating resolver leaves it out when the other family has
        // addresses.
        boolean secure = !v4.isFailed() || !v6.isFailed();
        for (DnsResult<List<InetAddress>> r : List.of(v4, v6)) {
            if (!r.isFailed() && !r.isSecure()) {
                secure = false;
            }
        }
        DnsSecurity security = secure ? DnsSecurity.SECURE : DnsSecurity.INSECURE;
        if (both instanceof DnsResult.Found<List<InetAddress>> f) {
            return new DnsResult.Found<>(f.name(), f.canonicalName(), f.value(), security);
        }
        if (both instanceof DnsResult.NoRecords<List<InetAddress>> n) {
            return new DnsResult.NoRecords<>(n.name(), n.absence(), security);
        }
        return both;
    }

    @Override
    <T> CompletableFuture<DnsResult<T>> lookup(
            String name, int type, Function<List<Record>, T> convert) {
        String n = DnsNames.normalise(name);
        if (!DnsNames.isValid(n)) {
            return CompletableFuture.completedFuture(
                    new DnsResult.Failed<>(
                            n,
                            DnsResult.Failure.INVALID_NAME,
                            "\"" + name + "\" is not a DNS name"));
        }
        Name qname;
        try {
            qname = Name.fromString(n + ".");
        } catch (TextParseException e) {
            return CompletableFuture.completedFuture(
                    new DnsResult.Failed<>(n, DnsResult.Failure.INVALID_NAME, e.getMessage()));
        }
        return step(n, qname, type, convert, 0, true);
    }

    /** Asks for {@code qname}, which a CNAME chain of {@code hops} links from the asked name may have led to. */
    private <T> CompletableFuture<DnsResult<T>> step(
            String asked,
            Name qname,
            int type,
            Function<List<Record>, T> convert,
            int hops,
            boolean secureSoFar) {
        Message query = Message.newQuery(Record.newRecord(qname, type, DClass.IN));
        CompletableFuture<Message> answer;
        try {
            answer = validator.sendAsync(query).toCompletableFuture();
        } catch (RuntimeException e) {
            answer = CompletableFuture.failedFuture(e);
        }
        return answer.handle(
                        (response, error) -> {
                            if (error != null) {
                                return CompletableFuture.completedFuture(
                                        DnsjavaResolver.<T>failure(
                                                asked, type, DnsjavaResolver.unwrap(error)));
                            }
                            return interpret(
                                    asked, qname, type, convert, hops, secureSoFar, response);
                        })
                .thenCompose(f -> f);
    }

    private <T> CompletableFuture<DnsResult<T>> interpret(
            String asked,
            Name qname,
            int type,
            Function<List<Record>, T> convert,
            int hops,
            boolean secureSoFar,
            Message response) {
        String what = qname.toString(true) + "/" + Type.string(type);
        int rcode = response.getRcode();
        String reason = validationReason(response).orElse(null);
        if (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN) {
            if (reason != null && !reason.startsWith(UPSTREAM_ERROR)) {
                failures.failed(what, "bogus: " + reason);
                return done(
                        new DnsResult.Failed<>(
                                asked,
                                DnsResult.Failure.BOGUS,
                                what + ": DNSSEC validation failed (bogus): " + reason));
            }
            return done(
                    new DnsResult.Failed<>(
                            asked, DnsResult.Failure.SERVFAIL, what + ": " + Rcode.string(rcode)));
        }
        boolean secure = response.getHeader().getFlag(Flags.AD);
        if (!secure && reason == null) {
            boolean nodata =
                    rcode == Rcode.NOERROR && response.getSection(Section.ANSWER).isEmpty();
            CompletableFuture<Boolean> optOut =
                    nodata
                            ? OptOutNodata.proven(validator, response, qname, clock.instant())
                            : done(false);
            return optOut.thenApply(
                    proven -> {
                        if (proven) {
                            return new DnsResult.NoRecords<T>(
                                    asked, DnsResult.Absence.NODATA, DnsSecurity.INSECURE);
                        }
                        String unknown = "the answer's DNSSEC status could not be established";
                        failures.failed(what, unknown);
                        return new DnsResult.Failed<T>(
                                asked, DnsResult.Failure.BOGUS, what + ": " + unknown);
                    });
        }
        boolean chainSecure = secureSoFar && secure;
        DnsSecurity security = chainSecure ? DnsSecurity.SECURE : DnsSecurity.INSECURE;
        // Follow the CNAME chain inside the answer (RFC 1034 §3.6.2), from the name asked this
        // time.
        Name current = qname;
        int followed = hops;
        List<Record> answers = response.getSection(Section.ANSWER);
        for (int guard = 0; guard <= DnsjavaResolver.MAX_CNAME_HOPS; guard++) {
            Name owner = current;
            List<Record> records =
                    answers.stream()
                            .filter(r -> r.getType() == type && r.getName().equals(owner))
                            .toList();
            if (!records.isEmpty()) {
                return done(
                        new DnsResult.Found<>(
                                asked, owner.toString(), convert.apply(records), security));
            }
            Record cname =
                    answers.stream()
                            .filter(r -> r.getType() == Type.CNAME && r.getName().equals(owner))
                            .findFirst()
                            .orElse(null);
            if (cname == null) {
                break;
            }
            if (++followed > DnsjavaResolver.MAX_CNAME_HOPS) {
                return done(
                        new DnsResult.Failed<>(
                                asked,
                                DnsResult.Failure.MALFORMED,
                                what
                                        + ": CNAME loop or more than "
                                        + DnsjavaResolver.MAX_CNAME_HOPS
                                        + " CNAMEs"));
            }
            current = ((CNAMERecord) cname).getTarget();
        }
        if (rcode == Rcode.NXDOMAIN) {
            return done(new DnsResult.NoRecords<>(asked, DnsResult.Absence.NXDOMAIN, security));
        }
        boolean negativeProof =
                response.getSection(Section.AUTHORITY).stream()
                        .anyMatch(r -> r.getType() == Type.SOA);
        if (!current.equals(qname) && !negativeProof) {
            // The server gave the chain without its end: ask for the end ourselves.
            return step(asked, current, type, convert, followed, chainSecure);
        }
        return done(new DnsResult.NoRecords<>(asked, DnsResult.Absence.NODATA, security));
    }

    /** The validator's reason for its verdict, from the TXT record it adds (class 65280, RFC-less, dnsjava's own). */
    static Optional<String> validationReason(Message m) {
        List<String> parts = new ArrayList<>();
        for (Record r : m.getSection(Section.ADDITIONAL)) {
            if (r.getType() == Type.TXT
                    && r.getDClass() == ValidatingResolver.VALIDATION_REASON_QCLASS) {
                parts.addAll(((TXTRecord) r).getStrings());
            }
        }
        return parts.isEmpty() ? Optional.empty() : Optional.of(String.join("", parts));
    }

    private static <T> CompletableFuture<T> done(T value) {
        return CompletableFuture.completedFuture(value);
    }
}
