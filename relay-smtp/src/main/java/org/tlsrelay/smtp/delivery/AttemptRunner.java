package org.tlsrelay.smtp.delivery;

import java.time.Instant;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.dns.Idna;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.smtp.outbound.MessageContent;

/**
 * Runs one (message, domain) attempt: the domain's policy (or the one that replaces it for this message) and its MX
 * plan, looked up at once, then the {@link DomainAttempt} over the MX walk. At a message's last chance, a policy
 * refusal re-checks the policy first (RFC 8461 §5.1). Never blocks; the future never completes exceptionally for
 * anything DNS, a policy or an MX did.
 */
final class AttemptRunner {
    private static final Logger LOG = LoggerFactory.getLogger(AttemptRunner.class);

    private final PolicyLookup policies;
    private final PolicyOverride override;
    private final DomainAttempt.Context context;
    private final Random random;

    AttemptRunner(
            PolicyLookup policies,
            PolicyOverride override,
            DomainAttempt.Context context,
            Random random) {
        this.policies = policies;
        this.override = override;
        this.context = context;
        this.random = random;
    }

    CompletableFuture<DomainResult> run(DomainTask t) {
        Envelope env = t.run().message.envelope();
        Instant started = context.clock().instant();
        // DNS, the policy, MX patterns, certificate names and TLS-RPT all see the A-label form
        // (RFC 5890); the addresses go to the MX as written
        Idna.Conversion ascii = Idna.toAscii(t.domain());
        if (!(ascii instanceof Idna.Conversion.Ascii a) || !DnsNames.isValid(a.name())) {
            // not a domain name DNS could ask about (the inbound server refuses such addresses; an
            // old queue file?)
            String why =
                    ascii instanceof Idna.Conversion.Invalid bad
                            ? bad.describe()
                            : "\"" + t.domain() + "\" is not a valid domain name";
            return CompletableFuture.completedFuture(
                    DomainResult.all(
                            t.domain(),
                            t.recipients(),
                            RecipientStatus.State.FAILED,
                            "553 5.1.3 " + why,
                            Trace.local("-", started, started, started)));
        }
        String domain = a.name();
        Optional<ResolvedPolicy> forced = override.policyFor(env, domain);
        CompletableFuture<ResolvedPolicy> policy =
                forced.isPresent()
                        ? CompletableFuture.completedFuture(forced.get())
                        : policies.resolve(domain);
        CompletableFuture<MxPlan> plan =
                MxPlan.lookUp(context.walk().resolvers().mx(), domain, random);
        MessageContent content = MessageContent.ofFile(t.run().message.body());
        return policy.thenCompose(
                p ->
                        plan.thenCompose(
                                mx -> {
                                    Phases phases = new Phases(started, context.clock().instant());
                                    CompletableFuture<DomainResult> first =
                                            attempt(t, p, mx, content, phases);
                                    if (!t.run().lastChance || forced.isPresent()) {
                                        return first;
                                    }
                                    return first.thenCompose(
                                            r ->
                                                    r.policyRefused()
                                                            ? recheck(t, p, mx, content, r, phases)
                                                            : CompletableFuture.completedFuture(r));
                                }));
    }

    /** What an attempt that broke unexpectedly means: every recipient waits, nothing is lost. */
    DomainResult internalError(DomainTask t, Throwable e) {
        LOG.error("{}: delivery attempt for {} failed unexpectedly", t.run().id(), t.domain(), e);
        Instant now = context.clock().instant();
        return DomainResult.all(
                t.domain(),
                t.recipients(),
                RecipientStatus.State.PENDING,
                "451 4.3.0 internal error in the relay; will try again",
                Trace.local("-", now, now, now));
    }

    /** When the attempt got its slot, and when its policy and MX records were known. */
    record Phases(Instant started, Instant resolved) {}

    private CompletableFuture<DomainResult> attempt(
            DomainTask t, ResolvedPolicy policy, MxPlan mx, MessageContent content, Phases phases) {
        return new DomainAttempt(
                        context,
                        t.run().message.envelope(),
                        t.domain(),
                        t.recipients(),
                        policy,
                        content,
                        phases)
                .run(mx);
    }

    /**
     * RFC 8461 §5.1: "a compliant MTA MUST NOT permanently fail to deliver messages before checking, via DNS, for
     * the presence of an updated policy". When the policy changed, one more attempt under the new one.
     */
    private CompletableFuture<DomainResult> recheck(
            DomainTask t,
            ResolvedPolicy old,
            MxPlan mx,
            MessageContent content,
            DomainResult refused,
            Phases phases) {
        String id = t.run().id();
        return policies.revalidate(old.domain())
                .thenCompose(
                        fresh -> {
                            try (MDC.MDCCloseable q = MDC.putCloseable("queueId", id);
                                    MDC.MDCCloseable d = MDC.putCloseable("domain", t.domain())) {
                                if (fresh.policy().equals(old.policy())) {
                                    LOG.info(
                                            "{}: last attempt for {} refused by the policy; re-checked it: unchanged ({})",
                                            id,
                                            t.domain(),
                                            fresh.mode().label());
                                    return CompletableFuture.completedFuture(refused);
                                }
                                LOG.info(
                                        "{}: last attempt for {} refused by the policy; re-checked it: now {} {}, trying again",
                                        id,
                                        t.domain(),
                                        fresh.mode().label(),
                                        fresh.policy().mxs());
                            }
                            return attempt(t, fresh, mx, content, phases);
                        });
    }
}
