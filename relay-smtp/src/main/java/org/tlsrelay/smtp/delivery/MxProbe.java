package org.tlsrelay.smtp.delivery;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.dns.MxRecord;
import org.tlsrelay.core.enforce.Admission;
import org.tlsrelay.core.enforce.MxPolicy;
import org.tlsrelay.core.enforce.TlsRequirement;
import org.tlsrelay.core.enforce.Verdict;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;
import org.tlsrelay.smtp.outbound.DeliveryTarget;
import org.tlsrelay.smtp.outbound.OutboundClient;
import org.tlsrelay.smtp.outbound.ProbeResult;
import org.tlsrelay.smtp.outbound.Stage;

/**
 * What delivery would do with mail to a domain, found out without sending any ({@code policy check}): the same MX
 * plan, the same {@link MxWalk} over the same resolvers as a delivery attempt, with a probing strategy that connects
 * to every address of every MX host {@link org.tlsrelay.core.enforce.Enforcer} allows (EHLO, STARTTLS, the
 * certificate, QUIT) and records the verdict each would get. Hosts it skips are listed with their addresses, never
 * contacted. Progress lines go to a consumer as the walk goes.
 */
public final class MxProbe {

    /** How the MX list was found, as the delivery engine's MX plan says it. */
    public enum Lookup {
        /** MX records were found. */
        FOUND,
        /** No MX records (NODATA): the domain itself is the MX, preference 0 (RFC 5321 §5.1). */
        IMPLICIT,
        /** A null MX (RFC 7505 §3): the domain accepts no mail. */
        NULL_MX,
        /** The domain does not exist (NXDOMAIN): delivery bounces. */
        NO_SUCH_DOMAIN,
        /** Neither MX nor address records: delivery bounces. */
        NO_ADDRESS,
        /** No usable DNS answer: delivery defers and tries again later. */
        DNS_FAILURE
    }

    /** One address of an MX host and what probing it found. */
    public record AddressCheck(DeliveryTarget target, ProbeResult probe) {
        /** Whether the relay would send MAIL FROM here. */
        public boolean acceptable() {
            return probe instanceof ProbeResult.Observed o
                    && o.verdict() instanceof Verdict.Deliver;
        }

        /** {@code deliver-tls}, {@code deliver-clear}, {@code refuse} or {@code unreachable}. */
        public String verdict() {
            if (probe instanceof ProbeResult.Observed o) {
                return o.verdict().label();
            }
            if (probe instanceof ProbeResult.NotAllowed n) {
                return n.verdict().label();
            }
            return "unreachable";
        }

        /** The RFC 8460 result the relay would record: success or a failure type; empty when not connected. */
        public Optional<TlsResult> result() {
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
    public record MxCheck(
            MxRecord record,
            boolean implicit,
            String addressLookup,
            Optional<Boolean> policyMatch,
            List<AddressCheck> addresses,
            Optional<Verdict.Refuse> notAllowed,
            DanePolicy dane) {
        public MxCheck {
            addresses = List.copyOf(addresses);
        }

        /** Whether DANE decides for this MX host (TLSA records, or a DNSSEC failure): RFC 8461 §2. */
        public boolean daneApplies() {
            return dane instanceof DanePolicy.Required || dane instanceof DanePolicy.Failed;
        }

        public boolean acceptable() {
            return addresses.stream().anyMatch(AddressCheck::acceptable);
        }

        /** Why this MX is not acceptable, one phrase. */
        public String problem() {
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

    /**
     * What the probe found.
     *
     * @param detail for a DNS failure, the failed look-up as delivery reports it; for no MX host, why
     * @param mxs the MX hosts in the order delivery tries them
     */
    public record Report(Lookup lookup, String detail, List<MxCheck> mxs) {
        public Report {
            mxs = List.copyOf(mxs);
        }
    }

    private final MxWalk walk;
    private final OutboundClient client;
    private final Duration probeTimeout;
    private final Consumer<String> progress;
    private final Random random = new Random();

    /**
     * @param dns the resolvers delivery uses (validating where DANE applies)
     * @param port {@code delivery.port}
     * @param probeTimeout how long one address may take, from connect to QUIT
     * @param progress where one line per step goes
     */
    public MxProbe(
            MxResolvers dns,
            OutboundClient client,
            int port,
            Duration probeTimeout,
            Consumer<String> progress) {
        this.walk = new MxWalk(dns, port);
        this.client = client;
        this.probeTimeout = probeTimeout;
        this.progress = progress;
    }

    /** The MX plan of {@code domain} and, host by host, what delivery under {@code policy} would do there. */
    public CompletableFuture<Report> check(String domain, ResolvedPolicy policy) {
        progress.accept("looking up the MX records of " + domain);
        return MxPlan.lookUp(walk.resolvers().mx(), domain, random)
                .thenCompose(plan -> check(domain, policy, plan));
    }

    private CompletableFuture<Report> check(String domain, ResolvedPolicy policy, MxPlan plan) {
        if (plan instanceof MxPlan.NullMx) {
            return done(new Report(Lookup.NULL_MX, "MX 0 .", List.of()));
        }
        if (plan instanceof MxPlan.Undeliverable u && !u.exists()) {
            return done(new Report(Lookup.NO_SUCH_DOMAIN, "NXDOMAIN", List.of()));
        }
        if (plan instanceof MxPlan.Undeliverable u) {
            MxCheck none =
                    new MxCheck(
                            new MxRecord(0, domain),
                            true,
                            "no address record",
                            policy.mxMatch(domain),
                            List.of(),
                            Optional.empty(),
                            new DanePolicy.NotApplicable(domain, "it has no address records"));
            return done(new Report(Lookup.NO_ADDRESS, u.detail(), List.of(none)));
        }
        if (plan instanceof MxPlan.TryLater t) {
            return done(new Report(Lookup.DNS_FAILURE, t.detail(), List.of()));
        }
        MxPlan.Hosts hosts = (MxPlan.Hosts) plan;
        Probing probing = new Probing(policy, hosts.implicit());
        return walk.walk(policy, TlsRequirement.POLICY, hosts, probing)
                .thenApply(
                        v ->
                                new Report(
                                        hosts.implicit() ? Lookup.IMPLICIT : Lookup.FOUND,
                                        "",
                                        probing.checks));
    }

    /** The probing strategy: every MX host, every address, no message. */
    private final class Probing implements MxWalk.Strategy {
        private final ResolvedPolicy policy;
        private final boolean implicit;
        final List<MxCheck> checks = new ArrayList<>();

        Probing(ResolvedPolicy policy, boolean implicit) {
            this.policy = policy;
            this.implicit = implicit;
        }

        @Override
        public boolean wantsNextHost() {
            return true;
        }

        @Override
        public void visiting(MxPlan.MxHost host, int index, int count) {
            progress.accept(
                    "MX "
                            + (index + 1)
                            + "/"
                            + count
                            + ": "
                            + host.name()
                            + " (preference "
                            + host.preference()
                            + ")");
        }

        /**
         * Not contacted (RFC 8461 §4.1): the host's addresses are still listed, each with the refusal, unless the
         * DNSSEC look-ups for DANE failed, which leaves nothing to look up.
         */
        @Override
        public CompletableFuture<Void> skipped(
                MxPlan.MxHost host, MxPolicy mxPolicy, Verdict.Refuse refusal) {
            progress.accept("  " + mxPolicy.dane().describe());
            if (refusal.failure() == TlsFailureType.DNSSEC_INVALID) {
                add(host, "not looked up", List.of(), Optional.of(refusal), mxPolicy.dane());
                return done(null);
            }
            return walk.addresses(host, mxPolicy.dane())
                    .thenAccept(
                            addresses -> {
                                if (!(addresses
                                        instanceof DnsResult.Found<List<InetAddress>> found)) {
                                    noAddress(host, addresses);
                                    add(
                                            host,
                                            addresses.describe(),
                                            List.of(),
                                            Optional.of(refusal),
                                            mxPolicy.dane());
                                    return;
                                }
                                List<AddressCheck> checked = new ArrayList<>();
                                for (InetAddress a : found.value()) {
                                    DeliveryTarget target = target(host, a);
                                    AddressCheck check =
                                            new AddressCheck(
                                                    target,
                                                    new ProbeResult.NotAllowed(target, refusal));
                                    progress(check);
                                    checked.add(check);
                                }
                                add(host, "found", checked, Optional.empty(), mxPolicy.dane());
                            });
        }

        @Override
        public CompletableFuture<Void> connect(
                MxPlan.MxHost host,
                Admission.Connect permit,
                DnsResult<List<InetAddress>> addresses) {
            progress.accept("  " + permit.policy().dane().describe());
            if (!(addresses instanceof DnsResult.Found<List<InetAddress>> found)) {
                noAddress(host, addresses);
                add(
                        host,
                        addresses.describe(),
                        List.of(),
                        Optional.empty(),
                        permit.policy().dane());
                return done(null);
            }
            List<AddressCheck> checked = new ArrayList<>();
            CompletableFuture<Void> chain = done(null);
            for (InetAddress a : found.value()) {
                DeliveryTarget target = target(host, a);
                chain =
                        chain.thenCompose(v -> probe(target, permit))
                                .thenAccept(
                                        result -> {
                                            AddressCheck check = new AddressCheck(target, result);
                                            progress(check);
                                            checked.add(check);
                                        });
            }
            return chain.thenAccept(
                    v -> add(host, "found", checked, Optional.empty(), permit.policy().dane()));
        }

        private CompletableFuture<ProbeResult> probe(
                DeliveryTarget target, Admission.Connect permit) {
            progress.accept("  probing " + target + " ...");
            return client.probe(target, permit)
                    .exceptionally(e -> new ProbeResult.Failed(target, Stage.CONNECT, describe(e)))
                    .completeOnTimeout(
                            new ProbeResult.Failed(
                                    target,
                                    Stage.CONNECT,
                                    "no result within " + probeTimeout.toSeconds() + "s"),
                            probeTimeout.toMillis(),
                            TimeUnit.MILLISECONDS);
        }

        private DeliveryTarget target(MxPlan.MxHost host, InetAddress address) {
            return new DeliveryTarget(host.name(), address, walk.port());
        }

        private void add(
                MxPlan.MxHost host,
                String addressLookup,
                List<AddressCheck> addresses,
                Optional<Verdict.Refuse> notAllowed,
                DanePolicy dane) {
            checks.add(
                    new MxCheck(
                            new MxRecord(host.preference(), host.name()),
                            implicit,
                            addressLookup,
                            policy.mxMatch(host.name()),
                            addresses,
                            notAllowed,
                            dane));
        }

        private void noAddress(MxPlan.MxHost host, DnsResult<List<InetAddress>> addresses) {
            progress.accept("  no address for " + host.name() + ": " + addresses.describe());
        }

        private void progress(AddressCheck check) {
            String why =
                    check.result()
                            .filter(r -> r instanceof TlsResult.Failure)
                            .map(r -> " (" + ((TlsResult.Failure) r).type().resultType() + ")")
                            .orElse(
                                    check.probe() instanceof ProbeResult.Failed f
                                            ? " (" + f.detail() + ")"
                                            : "");
            progress.accept("  " + check.target() + ": " + check.verdict() + why);
        }
    }

    /** The innermost cause's message: what went wrong, not which exception said so. */
    private static String describe(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : "the probe failed unexpectedly";
    }

    private static <T> CompletableFuture<T> done(T value) {
        return CompletableFuture.completedFuture(value);
    }
}
