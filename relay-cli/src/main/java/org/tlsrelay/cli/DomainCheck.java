package org.tlsrelay.cli;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.tlsrelay.core.dane.DaneLookup;
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.dns.MxRecord;
import org.tlsrelay.core.enforce.Enforcer;
import org.tlsrelay.core.enforce.PolicyContext;
import org.tlsrelay.core.enforce.Verdict;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.report.Rua;
import org.tlsrelay.core.report.TlsRptRecord;
import org.tlsrelay.core.tls.TlsResult;
import org.tlsrelay.smtp.outbound.DeliveryTarget;
import org.tlsrelay.smtp.outbound.OutboundClient;
import org.tlsrelay.smtp.outbound.ProbeResult;
import org.tlsrelay.smtp.outbound.Stage;

/**
 * What {@code tlsrelay policy check} finds out about one domain: the policy the resolver picks, the TLS-RPT record
 * (RFC 8460 §3), the MX list (RFC 5321 §5.1, with the implicit MX and the null MX of RFC 7505), and for every address
 * of every MX a probe through {@link OutboundClient#probe}, the delivery code path up to (not including) MAIL FROM.
 * Gathering is separate from printing ({@link PolicyCheckCommand}), so text and JSON show the same facts.
 */
final class DomainCheck {

    private final DnsResolver dns;

    /** The validating resolver (the general one when {@code dns.dnssec: off}): MX security and DANE. */
    private final DnsResolver validating;

    /** DANE's per-MX-host look-up; answers "not applicable" when {@code dns.dnssec: off}. */
    private final java.util.function.BiFunction<String, Boolean, CompletableFuture<DanePolicy>>
            dane;

    private final OutboundClient client;
    private final int port;
    private final Duration dnsTimeout;
    private final Duration probeTimeout;
    private final Consumer<String> progress;

    DomainCheck(
            DnsResolver dns,
            OutboundClient client,
            int port,
            Duration dnsTimeout,
            Duration probeTimeout,
            Consumer<String> progress) {
        this(dns, Optional.empty(), client, port, dnsTimeout, probeTimeout, progress);
    }

    /** With DANE (RFC 7672) per MX host through {@code validatingResolver}, as the delivery engine does it. */
    DomainCheck(
            DnsResolver dns,
            Optional<DnsResolver> validatingResolver,
            OutboundClient client,
            int port,
            Duration dnsTimeout,
            Duration probeTimeout,
            Consumer<String> progress) {
        this.dns = dns;
        this.validating = validatingResolver.orElse(dns);
        Optional<DaneLookup> lookup = validatingResolver.map(DaneLookup::new);
        this.dane =
                (host, mxSecure) ->
                        lookup.isPresent()
                                ? lookup.get().lookUp(host, mxSecure, port)
                                : CompletableFuture.completedFuture(
                                        new DanePolicy.NotApplicable(
                                                host,
                                                "DNSSEC validation is off (dns.dnssec: off)"));
        this.client = client;
        this.port = port;
        this.dnsTimeout = dnsTimeout;
        this.probeTimeout = probeTimeout;
        this.progress = progress;
    }

    // ---- the report ----

    /** How the MX list was found. */
    enum MxLookup {
        /** MX records were found. */
        FOUND("found"),
        /** No MX records (NODATA): the domain itself is the MX, preference 0 (RFC 5321 §5.1). */
        IMPLICIT("implicit"),
        /** A null MX (RFC 7505 §3): the domain accepts no mail. */
        NULL_MX("null-mx"),
        /** The domain does not exist. */
        NXDOMAIN("nxdomain"),
        /** No usable DNS answer; the relay would defer and try later. */
        DNS_FAILURE("dns-failure");

        final String label;

        MxLookup(String label) {
            this.label = label;
        }
    }

    /** The {@code _smtp._tls} TXT record(s) and whether they make a usable TLS-RPT policy. */
    record TlsRpt(
            String name,
            List<String> records,
            String lookup,
            boolean valid,
            Optional<String> record,
            List<String> rua,
            String problem) {}

    /** One probed address of an MX. */
    record AddressCheck(DeliveryTarget target, ProbeResult probe) {
        /** Whether the relay would send MAIL FROM here. */
        boolean acceptable() {
            return probe instanceof ProbeResult.Observed o
                    && !(o.verdict() instanceof Verdict.Refuse);
        }

        /** {@code deliver-tls}, {@code deliver-clear}, {@code refuse} or {@code unreachable}. */
        String verdict() {
            if (probe instanceof ProbeResult.Observed o) {
                return o.verdict().label();
            }
            if (probe instanceof ProbeResult.NotAllowed n) {
                return n.verdict().label();
            }
            return "unreachable";
        }

        /** The RFC 8460 result the relay would record: success or a failure type; empty when not connected. */
        Optional<TlsResult> result() {
            if (probe instanceof ProbeResult.Observed o) {
                return Optional.of(o.verdict().result());
            }
            if (probe instanceof ProbeResult.NotAllowed n) {
                return Optional.of(n.verdict().result());
            }
            return Optional.empty();
        }
    }

    /**
     * One MX host, its addresses and their probes.
     *
     * @param addressLookup {@code found}, or why there is no address
     * @param policyMatch whether a pattern of the policy allows the host; empty when the policy has no patterns
     * @param notAllowed the refusal when the host has no address and the policy does not allow it anyway
     */
    record MxCheck(
            MxRecord record,
            boolean implicit,
            String addressLookup,
            Optional<Boolean> policyMatch,
            List<AddressCheck> addresses,
            Optional<Verdict.Refuse> notAllowed,
            DanePolicy dane) {
        /** Whether DANE decides for this MX host (TLSA records, or a DNSSEC failure): RFC 8461 §2. */
        boolean daneApplies() {
            return dane instanceof DanePolicy.Required || dane instanceof DanePolicy.Failed;
        }

        boolean acceptable() {
            return addresses.stream().anyMatch(AddressCheck::acceptable);
        }

        /** Why this MX is not acceptable, one phrase. */
        String problem() {
            if (notAllowed.isPresent()) {
                return notAllowed.get().failure().resultType();
            }
            if (addresses.isEmpty()) {
                return "no address (" + addressLookup + ")";
            }
            List<String> why = new ArrayList<>();
            for (AddressCheck a : addresses) {
                String w =
                        a.result()
                                .filter(r -> r instanceof TlsResult.Failure)
                                .map(r -> ((TlsResult.Failure) r).type().resultType())
                                .orElse(a.verdict());
                if (!why.contains(w)) {
                    why.add(w);
                }
            }
            return String.join(", ", why);
        }
    }

    record Report(
            String domain,
            ResolvedPolicy policy,
            PolicyContext context,
            TlsRpt tlsRpt,
            MxLookup mxLookup,
            String mxDetail,
            List<MxCheck> mxs) {
        boolean wouldDeliver() {
            return mxs.stream().anyMatch(MxCheck::acceptable);
        }

        /** One sentence saying why the relay would deliver or not. */
        String reason() {
            switch (mxLookup) {
                case NULL_MX:
                    return domain
                            + " publishes a null MX (RFC 7505): it accepts no mail; the relay bounces";
                case NXDOMAIN:
                    return domain + " does not exist (NXDOMAIN); the relay bounces";
                case DNS_FAILURE:
                    return "the MX look-up failed ("
                            + mxDetail
                            + "); the relay defers and tries again later";
                default:
                    break;
            }
            if (mxs.isEmpty()) {
                return "no MX host to deliver to";
            }
            Optional<MxCheck> first = mxs.stream().filter(MxCheck::acceptable).findFirst();
            if (first.isPresent()) {
                AddressCheck a =
                        first.get().addresses().stream()
                                .filter(AddressCheck::acceptable)
                                .findFirst()
                                .orElseThrow();
                return "the relay would deliver to "
                        + a.target()
                        + " ("
                        + a.verdict()
                        + ", policy "
                        + context.mode().label()
                        + ")";
            }
            List<String> why = new ArrayList<>();
            for (MxCheck m : mxs) {
                why.add(m.record().host() + ": " + m.problem());
            }
            return "no MX is acceptable under the "
                    + context.mode().label()
                    + " policy ("
                    + String.join("; ", why)
                    + "); the relay defers and tries again later";
        }
    }

    // ---- gathering ----

    /**
     * The TLS-RPT record of {@code domain} exactly as the report sender reads it ({@link TlsRptRecord}, RFC 8460
     * §3): one TXT record beginning {@code v=TLSRPTv1;} with at least one usable {@code rua} URI.
     */
    TlsRpt tlsRpt(String domain) throws TimeoutException, InterruptedException {
        String name = "_smtp._tls." + domain;
        DnsResult<List<String>> txt = await(dns.txt(name), dnsTimeout);
        List<String> all = txt.found().orElse(List.of());
        String lookup = txt.isFound() ? "found" : txt.describe();
        if (txt.isFailed()) {
            return new TlsRpt(
                    name,
                    all,
                    lookup,
                    false,
                    Optional.empty(),
                    List.of(),
                    "the look-up failed: " + txt.describe());
        }
        TlsRptRecord.Discovery d = TlsRptRecord.discover(all);
        if (d instanceof TlsRptRecord.Found f) {
            return new TlsRpt(
                    name,
                    all,
                    lookup,
                    true,
                    Optional.of(f.record()),
                    f.rua().stream().map(Rua::uri).toList(),
                    String.join("; ", f.ignored()));
        }
        String problem = d instanceof TlsRptRecord.NotFound n ? n.reason() : d.toString();
        return new TlsRpt(
                name,
                all,
                lookup,
                false,
                Optional.empty(),
                List.of(),
                problem.equals("no TXT record") ? "no TXT record at " + name : problem);
    }

    /** The MX list, then a probe of every address of every MX host, in preference order. */
    Report run(String domain, ResolvedPolicy policy, TlsRpt tlsRpt)
            throws TimeoutException, InterruptedException {
        PolicyContext context = contextOf(policy);
        progress.accept("looking up the MX records of " + domain);
        DnsResult<List<MxRecord>> mx = await(dns.mx(domain), dnsTimeout);
        List<MxRecord> records;
        MxLookup lookup;
        if (mx instanceof DnsResult.Found<List<MxRecord>> f) {
            if (MxRecord.hasNullMx(f.value())) {
                return new Report(
                        domain, policy, context, tlsRpt, MxLookup.NULL_MX, "MX 0 .", List.of());
            }
            records = f.value();
            lookup = MxLookup.FOUND;
        } else if (mx instanceof DnsResult.NoRecords<List<MxRecord>> n) {
            if (n.absence() == DnsResult.Absence.NXDOMAIN) {
                return new Report(
                        domain, policy, context, tlsRpt, MxLookup.NXDOMAIN, "NXDOMAIN", List.of());
            }
            records = List.of(new MxRecord(0, domain)); // RFC 5321 §5.1: the domain is its own MX
            lookup = MxLookup.IMPLICIT;
        } else {
            return new Report(
                    domain,
                    policy,
                    context,
                    tlsRpt,
                    MxLookup.DNS_FAILURE,
                    mx.describe(),
                    List.of());
        }
        // RFC 7672 §2.2.1: DANE needs a secure MX RRset (or a proven absence of one), as the engine
        // asks it
        DnsResult<List<MxRecord>> validated = await(validating.mx(domain), dnsTimeout);
        boolean mxSecure = validated.isSecure();
        // the engine defers when the validated MX look-up fails: every host then waits (RFC 7672
        // §2.2.1)
        Optional<String> mxFailure =
                validated.isFailed()
                        ? Optional.of("MX look-up: " + validated.describe())
                        : Optional.empty();
        List<MxCheck> checks = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) {
            MxRecord r = records.get(i);
            progress.accept(
                    "MX "
                            + (i + 1)
                            + "/"
                            + records.size()
                            + ": "
                            + r.host()
                            + " (preference "
                            + r.preference()
                            + ")");
            checks.add(checkMx(r, lookup == MxLookup.IMPLICIT, context, mxSecure, mxFailure));
        }
        return new Report(domain, policy, context, tlsRpt, lookup, "", checks);
    }

    private MxCheck checkMx(
            MxRecord record,
            boolean implicit,
            PolicyContext domainContext,
            boolean mxSecure,
            Optional<String> mxFailure)
            throws TimeoutException, InterruptedException {
        Optional<Boolean> policyMatch =
                domainContext.mode() == PolicyMode.NONE || domainContext.policy().mxs().isEmpty()
                        ? Optional.empty()
                        : Optional.of(domainContext.policy().allowsMx(record.host()));
        DanePolicy danePolicy =
                mxFailure.isPresent()
                        ? new DanePolicy.Failed(record.host(), mxFailure.get())
                        : await(dane.apply(record.host(), mxSecure), dnsTimeout);
        progress.accept("  " + danePolicy.describe());
        PolicyContext context = domainContext.forMx(danePolicy);
        Optional<Verdict.Refuse> skip = Enforcer.beforeConnect(context, record.host());
        if (skip.isPresent() && danePolicy instanceof DanePolicy.Failed) {
            return new MxCheck(
                    record, implicit, "not looked up", policyMatch, List.of(), skip, danePolicy);
        }
        DnsResult<List<InetAddress>> addresses =
                await(
                        (danePolicy instanceof DanePolicy.Required ? validating : dns)
                                .addresses(record.host()),
                        dnsTimeout);
        if (!(addresses instanceof DnsResult.Found<List<InetAddress>> found)) {
            progress.accept("  no address for " + record.host() + ": " + addresses.describe());
            return new MxCheck(
                    record,
                    implicit,
                    addresses.describe(),
                    policyMatch,
                    List.of(),
                    skip,
                    danePolicy);
        }
        List<AddressCheck> probes = new ArrayList<>();
        for (InetAddress a : found.value()) {
            DeliveryTarget target = new DeliveryTarget(record.host(), a, port);
            progress.accept("  probing " + target + " ...");
            ProbeResult result = probe(target, context);
            AddressCheck check = new AddressCheck(target, result);
            progress.accept(
                    "  "
                            + target
                            + ": "
                            + check.verdict()
                            + check.result()
                                    .filter(x -> x instanceof TlsResult.Failure)
                                    .map(
                                            x ->
                                                    " ("
                                                            + ((TlsResult.Failure) x)
                                                                    .type()
                                                                    .resultType()
                                                            + ")")
                                    .orElse(
                                            result instanceof ProbeResult.Failed fl
                                                    ? " (" + fl.detail() + ")"
                                                    : ""));
            probes.add(check);
        }
        return new MxCheck(
                record, implicit, "found", policyMatch, probes, Optional.empty(), danePolicy);
    }

    private ProbeResult probe(DeliveryTarget target, PolicyContext context)
            throws InterruptedException {
        CompletableFuture<ProbeResult> f = client.probe(target, context);
        try {
            return f.get(probeTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            return new ProbeResult.Failed(
                    target, Stage.CONNECT, "no result within " + probeTimeout.toSeconds() + "s");
        } catch (ExecutionException e) {
            return new ProbeResult.Failed(target, Stage.CONNECT, String.valueOf(e.getCause()));
        }
    }

    /**
     * The policy as a delivery attempt runs under it: the same mapping from the resolver's answer to a
     * {@link PolicyContext} that the delivery engine makes (TLS-RPT reports MTA-STS as {@code sts}, RFC 8460 §4.4).
     */
    static PolicyContext contextOf(ResolvedPolicy p) {
        return switch (p.source()) {
            case MTA_STS_LIVE ->
                    new PolicyContext(
                            p.domain(),
                            PolicyContext.Source.MTA_STS,
                            "live",
                            p.policy(),
                            p.policyLines());
            case MTA_STS_CACHED ->
                    new PolicyContext(
                            p.domain(),
                            PolicyContext.Source.MTA_STS,
                            "cached",
                            p.policy(),
                            p.policyLines());
            case LIST ->
                    new PolicyContext(
                            p.domain(),
                            PolicyContext.Source.LIST,
                            p.listName().orElse(""),
                            p.policy(),
                            List.of());
            case OVERRIDE ->
                    new PolicyContext(
                            p.domain(),
                            PolicyContext.Source.OVERRIDE,
                            p.forced() ? "forced" : "",
                            p.policy(),
                            List.of());
            case NONE -> PolicyContext.noPolicy(p.domain());
        };
    }

    private static <T> T await(CompletableFuture<T> f, Duration timeout)
            throws TimeoutException, InterruptedException {
        try {
            return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }
}
