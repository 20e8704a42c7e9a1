package org.tlsrelay.smtp.delivery;

import java.net.InetAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.enforce.Admission;
import org.tlsrelay.core.enforce.DomainVerdict;
import org.tlsrelay.core.enforce.Enforcer;
import org.tlsrelay.core.enforce.MxPolicy;
import org.tlsrelay.core.enforce.MxRefusal;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.enforce.TlsOutcomeListener;
import org.tlsrelay.core.enforce.TlsRequirement;
import org.tlsrelay.core.enforce.Verdict;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.XText;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.smtp.outbound.DeliveryAttemptResult;
import org.tlsrelay.smtp.outbound.DeliveryTarget;
import org.tlsrelay.smtp.outbound.Extension;
import org.tlsrelay.smtp.outbound.MessageContent;
import org.tlsrelay.smtp.outbound.OutboundClient;
import org.tlsrelay.smtp.outbound.OutboundMessage;
import org.tlsrelay.smtp.outbound.OutboundRecipient;
import org.tlsrelay.smtp.outbound.RecipientReply;

/**
 * One delivery attempt of one message to the recipients at one domain, under one policy: the delivering strategy of
 * the {@link MxWalk}. At each MX host {@link Enforcer} allows, the addresses are tried in order until one completes a
 * transaction; recipients an MX deferred go on to the next MX; the walk ends when every recipient is delivered or
 * failed, or the MXs (or the address budget) run out. Then {@link Enforcer#afterMxWalk} says what the refusals mean.
 * Not thread-safe, but its steps run one after another (each starts when the previous future completed), so no two
 * threads touch it at once.
 */
final class DomainAttempt implements MxWalk.Strategy {
    private static final Logger LOG = LoggerFactory.getLogger(DomainAttempt.class);

    /** Addresses tried in one attempt at most, over all MXs (Postfix: smtp_mx_address_limit = 5 per MX). */
    static final int MAX_ADDRESSES = 10;

    /** What every attempt shares: the outbound client, the walk (resolvers, port) and where TLS outcomes go. */
    record Context(OutboundClient client, MxWalk walk, TlsOutcomeListener outcomes, Clock clock) {}

    private final Context ctx;
    private final Envelope envelope;
    private final String domain;
    private final ResolvedPolicy policy;
    private final MessageContent content;
    private final AttemptRunner.Phases phases;

    /** The domain's policy for the log lines ({@code mta-sts/enforce}); a transaction with an MX under DANE says so. */
    private final String policyLabel;

    /** Final outcomes (delivered or failed) and deferred ones, by recipient, in envelope order. */
    private final Map<RecipientStatus, DomainResult.Outcome> outcomes = new LinkedHashMap<>();

    /** Every refusal Enforcer made, by MX host, in order: what they mean is its call once the walk is over. */
    private final List<MxRefusal> refusals = new ArrayList<>();

    private List<RecipientStatus> pending;
    private Optional<String> lastProblem = Optional.empty();
    private boolean transacted;
    private boolean stop;
    private int addressesTried;

    /** Whether any address was connected to (or a connection tried), for what an interruption means. */
    private boolean connected;

    private DomainResult.Interruption interruption = DomainResult.Interruption.NONE;

    DomainAttempt(
            Context ctx,
            Envelope envelope,
            String domain,
            List<RecipientStatus> recipients,
            ResolvedPolicy policy,
            MessageContent content,
            AttemptRunner.Phases phases) {
        this.ctx = ctx;
        this.envelope = envelope;
        this.domain = domain;
        this.policy = policy;
        this.content = content;
        this.phases = phases;
        this.policyLabel = Trace.policy(policy);
        this.pending = new ArrayList<>(recipients);
    }

    CompletableFuture<DomainResult> run(MxPlan plan) {
        if (plan instanceof MxPlan.NullMx) {
            // RFC 7505 §4.1 and RFC 3463 X.1.10 (RFC 7505 §5): the domain accepts no mail
            return all(
                    "556 5.1.10 " + domain + " accepts no mail (null MX, RFC 7505)",
                    RecipientStatus.State.FAILED);
        }
        if (plan instanceof MxPlan.Undeliverable u) {
            // X.1.2 bad destination system
            return all("550 5.1.2 " + u.detail(), RecipientStatus.State.FAILED);
        }
        if (plan instanceof MxPlan.TryLater t) {
            // X.4.3 directory server failure
            return all("451 4.4.3 " + t.detail(), RecipientStatus.State.PENDING);
        }
        if (OutboundMessage.problem(envelope.sender(), envelopeId()).isPresent()) {
            return all(
                    "553 5.1.7 the sender address cannot be used in MAIL FROM",
                    RecipientStatus.State.FAILED);
        }
        MxPlan.Hosts hosts = (MxPlan.Hosts) plan;
        List<String> names = hosts.hosts().stream().map(MxPlan.MxHost::name).toList();
        return ctx.walk().walk(policy, requirement(), hosts, this).thenApply(v -> afterWalk(names));
    }

    // ---- the walk's strategy: MX by MX, address by address ----

    @Override
    public boolean wantsNextHost() {
        return !pending.isEmpty() && !stop && addressesTried < MAX_ADDRESSES;
    }

    /**
     * An MX host Enforcer ruled out before connecting: the TLS outcome is still recorded when the refusal is one
     * (RFC 8460 §4.3; a REQUIRETLS refusal is not).
     */
    @Override
    public CompletableFuture<Void> skipped(
            MxPlan.MxHost host, MxPolicy mxPolicy, Verdict.Refuse refusal) {
        refusals.add(new MxRefusal(host.name(), refusal));
        refusal.reported()
                .ifPresent(
                        reported ->
                                record(
                                        new TlsOutcome(
                                                ctx.clock().instant(),
                                                mxPolicy,
                                                host.name(),
                                                "",
                                                "",
                                                "",
                                                reported.result(),
                                                reported.verdict(),
                                                notConnected(refusal))));
        try (MDC.MDCCloseable q = MDC.putCloseable("queueId", envelope.id());
                MDC.MDCCloseable d = MDC.putCloseable("domain", domain);
                MDC.MDCCloseable m = MDC.putCloseable("mx", host.name())) {
            LOG.warn(
                    "{}: {} skipped, not connected (policy={}): {}",
                    envelope.id(),
                    host.name(),
                    Trace.policy(mxPolicy),
                    refusal.replyText());
        }
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<Void> connect(
            MxPlan.MxHost host, Admission.Connect permit, DnsResult<List<InetAddress>> addresses) {
        if (!(addresses instanceof DnsResult.Found<List<InetAddress>> found)) {
            lastProblem =
                    Optional.of(
                            "451 4.4.3 address look-up for MX "
                                    + host.name()
                                    + ": "
                                    + addresses.describe());
            return CompletableFuture.completedFuture(null);
        }
        return tryAddress(host, permit, found.value(), 0);
    }

    private CompletableFuture<Void> tryAddress(
            MxPlan.MxHost host, Admission.Connect permit, List<InetAddress> addresses, int j) {
        if (j >= addresses.size() || pending.isEmpty() || stop || addressesTried >= MAX_ADDRESSES) {
            return CompletableFuture.completedFuture(null);
        }
        Optional<OutboundMessage> message = message();
        if (message.isEmpty()) {
            return CompletableFuture.completedFuture(null); // no usable recipient: all failed
        }
        addressesTried++;
        DeliveryTarget target =
                new DeliveryTarget(host.name(), addresses.get(j), ctx.walk().port());
        return ctx.client()
                .deliver(target, message.get(), permit)
                .thenCompose(
                        result -> {
                            if (!(result instanceof DeliveryAttemptResult.Failed)) {
                                connected = true;
                            }
                            if (result instanceof DeliveryAttemptResult.Completed c) {
                                completed(permit, c);
                                // deferred recipients: next MX
                                return CompletableFuture.<Void>completedFuture(null);
                            }
                            if (result instanceof DeliveryAttemptResult.Refused r) {
                                refusals.add(new MxRefusal(host.name(), r.verdict()));
                                // a REQUIRETLS refusal rules the MX host out for this message; a
                                // TLS failure may be this address's only
                                return r.verdict().ground() == Verdict.Refuse.Ground.REQUIRETLS
                                        ? CompletableFuture.<Void>completedFuture(null)
                                        : tryAddress(host, permit, addresses, j + 1);
                            }
                            DeliveryAttemptResult.Failed f = (DeliveryAttemptResult.Failed) result;
                            if (f.byRelay()) {
                                interrupted(target, f);
                                return CompletableFuture.<Void>completedFuture(null);
                            }
                            if (f.cause() != DeliveryAttemptResult.Failed.Cause.HOST_RESTING) {
                                connected = true;
                            }
                            if (f.possiblyDelivered()) {
                                // RFC 1047: the MX may have the message; another MX now would
                                // likely duplicate it. Retry later.
                                lastProblem =
                                        Optional.of(
                                                "451 4.4.2 "
                                                        + target
                                                        + ": connection lost after the end of data: "
                                                        + f.detail());
                                stop = true;
                                return CompletableFuture.<Void>completedFuture(null);
                            }
                            lastProblem = Optional.of("451 4.4.1 " + target + ": " + f.detail());
                            return tryAddress(host, permit, addresses, j + 1);
                        });
    }

    /**
     * The relay, stopping, ended the attempt: no other address or MX now. Cut after the end of data, the MX may have
     * the message (RFC 1047): it is sent again after the restart, a possible duplicate the log names.
     */
    private void interrupted(DeliveryTarget target, DeliveryAttemptResult.Failed f) {
        stop = true;
        if (f.cause() == DeliveryAttemptResult.Failed.Cause.NOT_STARTED) {
            interruption =
                    connected
                            ? DomainResult.Interruption.CUT
                            : DomainResult.Interruption.NOT_STARTED;
            // X.3.2: system not accepting network messages
            lastProblem = Optional.of("451 4.3.2 " + target + ": " + f.detail());
        } else if (f.possiblyDelivered()) {
            interruption = DomainResult.Interruption.CUT_AFTER_DATA;
            lastProblem =
                    Optional.of(
                            "451 4.4.2 "
                                    + target
                                    + ": the relay cut the connection after the end of data ("
                                    + f.detail()
                                    + "); the MX may have the message: possible duplicate");
        } else {
            interruption = DomainResult.Interruption.CUT;
            lastProblem = Optional.of("451 4.3.2 " + target + ": " + f.detail());
        }
    }

    private void completed(Admission.Connect permit, DeliveryAttemptResult.Completed c) {
        transacted = true;
        Trace trace =
                new Trace(
                        new Trace.Relay.Mx(c.target(), c.session().tls()),
                        Trace.policy(permit.policy()),
                        phases.started(),
                        phases.resolved(),
                        c.transactionStarted(),
                        ctx.clock().instant());
        boolean dsn = c.session().capabilities().has(Extension.DSN);
        Map<OutboundRecipient, RecipientStatus> byRecipient = new IdentityHashMap<>();
        for (int i = 0; i < c.recipients().size() && i < pending.size(); i++) {
            byRecipient.put(c.recipients().get(i).recipient(), pending.get(i));
        }
        List<RecipientStatus> stillPending = new ArrayList<>();
        for (RecipientReply r : c.recipients()) {
            RecipientStatus rs = byRecipient.get(r.recipient());
            if (rs == null) {
                continue;
            }
            RecipientStatus.State state =
                    switch (r.status()) {
                        case DELIVERED -> RecipientStatus.State.DELIVERED;
                        case FAILED -> RecipientStatus.State.FAILED;
                        case DEFERRED -> RecipientStatus.State.PENDING;
                    };
            outcomes.put(
                    rs,
                    new DomainResult.Outcome(
                            rs, state, r.reply().toString(), c.target().mxHost(), dsn, trace));
            if (state == RecipientStatus.State.PENDING) {
                stillPending.add(rs);
            }
        }
        pending = stillPending;
    }

    private void record(TlsOutcome outcome) {
        try {
            ctx.outcomes().record(outcome);
        } catch (RuntimeException e) {
            LOG.warn("queue {}: the TLS outcome listener failed", envelope.id(), e);
        }
    }

    /** The additional information of an outcome for an MX not connected to. */
    static String notConnected(Verdict.Refuse refusal) {
        return refusal.failure() == TlsFailureType.DNSSEC_INVALID
                ? "not connected: the DNSSEC look-ups for DANE failed"
                : "not connected: the MX host is not in the policy";
    }

    // ---- the result ----

    /** Every recipient still pending gets {@code reply} with {@code state} (a DNS verdict, an unusable sender). */
    private CompletableFuture<DomainResult> all(String reply, RecipientStatus.State state) {
        Trace trace = local();
        for (RecipientStatus rs : pending) {
            outcomes.put(rs, new DomainResult.Outcome(rs, state, reply, "", false, trace));
        }
        return CompletableFuture.completedFuture(
                new DomainResult(domain, List.copyOf(outcomes.values()), false));
    }

    /**
     * The walk is over: what Enforcer makes of the refusals decides first (every MX ruled out for a REQUIRETLS
     * message fails the recipients with 5.7.30); otherwise each pending recipient gets the best reason known: the
     * MX's own reply when one deferred it, else the policy's refusal when no MX ran a transaction, else the last
     * connection problem.
     */
    private DomainResult afterWalk(List<String> hosts) {
        Optional<DomainVerdict> verdict = Enforcer.afterMxWalk(domain, hosts, refusals, transacted);
        Trace trace = local();
        if (verdict.isPresent() && verdict.get() instanceof DomainVerdict.Fail fail) {
            for (RecipientStatus rs : pending) {
                outcomes.put(
                        rs,
                        new DomainResult.Outcome(
                                rs, RecipientStatus.State.FAILED, fail.reply(), "", false, trace));
            }
            return new DomainResult(domain, List.copyOf(outcomes.values()), false);
        }
        Optional<String> deferral =
                verdict.map(DomainVerdict::reply)
                        .or(() -> lastProblem)
                        // X.4.4 unable to route
                        .or(() -> Optional.of("451 4.4.4 no usable MX for " + domain));
        boolean policyRefused = false;
        for (RecipientStatus rs : pending) {
            if (!outcomes.containsKey(rs)) {
                outcomes.put(
                        rs,
                        new DomainResult.Outcome(
                                rs,
                                RecipientStatus.State.PENDING,
                                deferral.get(),
                                "",
                                false,
                                trace));
                policyRefused |= verdict.isPresent();
            }
        }
        return new DomainResult(
                domain, List.copyOf(outcomes.values()), policyRefused, interruption);
    }

    /** The trace of an outcome no MX gave, as of now. */
    private Trace local() {
        return Trace.local(policyLabel, phases.started(), phases.resolved(), ctx.clock().instant());
    }

    // ---- the message for the outbound client ----

    /** RFC 8689: REQUIRETLS wins over a {@code TLS-Required: No} header field (§4.1). */
    private TlsRequirement requirement() {
        if (envelope.requireTls()) {
            return TlsRequirement.REQUIRETLS;
        }
        return envelope.tlsPolicyOptional() ? TlsRequirement.TLS_OPTIONAL : TlsRequirement.POLICY;
    }

    /**
     * The message for the pending recipients. A recipient the outbound client could not put in a command (it came
     * from the spool, but check anyway) fails at once; empty when none is left.
     */
    private Optional<OutboundMessage> message() {
        List<OutboundRecipient> recipients = new ArrayList<>();
        List<RecipientStatus> usable = new ArrayList<>();
        for (RecipientStatus rs : pending) {
            Set<OutboundRecipient.Notify> notify = notify(rs.dsnNotify());
            String orcpt = orcpt(rs.orcpt());
            Optional<String> problem = OutboundRecipient.problem(rs.address(), notify, orcpt);
            if (problem.isPresent()) {
                outcomes.put(
                        rs,
                        new DomainResult.Outcome(
                                rs,
                                RecipientStatus.State.FAILED,
                                "553 5.1.3 the recipient address cannot be used in RCPT TO: "
                                        + problem.get(),
                                "",
                                false,
                                local()));
            } else {
                recipients.add(new OutboundRecipient(rs.address(), notify, orcpt));
                usable.add(rs);
            }
        }
        pending = usable;
        if (recipients.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(
                new OutboundMessage(
                        envelope.id(),
                        envelope.sender(),
                        recipients,
                        ret(envelope.ret()),
                        envelopeId(),
                        envelope.body() == Envelope.BodyType.EIGHT_BIT_MIME,
                        envelope.smtpUtf8(),
                        content));
    }

    /** RFC 3461 §4.4: ENVID goes out as xtext. */
    private String envelopeId() {
        return XText.encode(envelope.envid());
    }

    private static Set<OutboundRecipient.Notify> notify(Set<RecipientStatus.Notify> in) {
        EnumSet<OutboundRecipient.Notify> out = EnumSet.noneOf(OutboundRecipient.Notify.class);
        for (RecipientStatus.Notify n : in) {
            out.add(OutboundRecipient.Notify.valueOf(n.name()));
        }
        return out;
    }

    /** The envelope keeps ORCPT as {@code type;address} decoded; RFC 3461 §4.2 sends the address as xtext. */
    private static String orcpt(String decoded) {
        int semi = decoded.indexOf(';');
        if (semi <= 0) {
            return "";
        }
        return decoded.substring(0, semi) + ";" + XText.encode(decoded.substring(semi + 1));
    }

    private static OutboundMessage.Ret ret(Envelope.Ret ret) {
        return switch (ret) {
            case FULL -> OutboundMessage.Ret.FULL;
            case HDRS -> OutboundMessage.Ret.HDRS;
            case UNSPECIFIED -> OutboundMessage.Ret.UNSPECIFIED;
        };
    }
}
