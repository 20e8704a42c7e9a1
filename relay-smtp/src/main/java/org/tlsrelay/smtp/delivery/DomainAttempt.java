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
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.enforce.Enforcer;
import org.tlsrelay.core.enforce.PolicyContext;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.enforce.TlsOutcomeListener;
import org.tlsrelay.core.enforce.TlsRequirement;
import org.tlsrelay.core.enforce.Verdict;
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
import org.tlsrelay.smtp.outbound.RecipientResult;

/**
 * One delivery attempt of one message to the recipients at one domain, under one policy: walks the MX plan in order
 * (RFC 5321 §5.1), each MX's addresses in order, until every recipient is delivered or failed, or the MXs run out.
 * Not thread-safe, but its steps run one after another (each starts when the previous future completed), so no two
 * threads touch it at once.
 */
final class DomainAttempt {
    private static final Logger LOG = LoggerFactory.getLogger(DomainAttempt.class);

    /** Addresses tried in one attempt at most, over all MXs (Postfix: smtp_mx_address_limit = 5 per MX). */
    static final int MAX_ADDRESSES = 10;

    /**
     * What every attempt shares.
     *
     * @param dns the resolver for MX hosts where DANE does not apply
     * @param validating the validating resolver: addresses of MX hosts where DANE applies (RFC 7672 §2.2.1); the
     *     same as {@code dns} when DNSSEC is off
     * @param dane DANE's per-MX-host look-up
     */
    record Context(
            OutboundClient client,
            DnsResolver dns,
            DnsResolver validating,
            DaneCheck dane,
            TlsOutcomeListener outcomes,
            Clock clock,
            int port) {}

    private final Context ctx;
    private final Envelope envelope;
    private final String domain;
    private final PolicyContext policy;
    private final MessageContent content;

    /** Final outcomes (delivered or failed) and deferred ones, by recipient, in envelope order. */
    private final Map<RecipientStatus, DomainResult.Outcome> outcomes = new LinkedHashMap<>();

    private List<RecipientStatus> pending;
    private Verdict.Refuse refusal;
    private String lastProblem;
    private boolean transacted;
    private boolean stop;
    private int addressesTried;

    /** MX hosts ruled out for a REQUIRETLS message: no authenticating policy, or no REQUIRETLS (RFC 8689 §4.2.1). */
    private final Set<String> requireTlsUnmet = new java.util.HashSet<>();

    private int hostCount;
    private String requireTlsReason;

    DomainAttempt(
            Context ctx,
            Envelope envelope,
            String domain,
            List<RecipientStatus> recipients,
            PolicyContext policy,
            MessageContent content) {
        this.ctx = ctx;
        this.envelope = envelope;
        this.domain = domain;
        this.policy = policy;
        this.content = content;
        this.pending = new ArrayList<>(recipients);
    }

    CompletableFuture<DomainResult> run(MxPlan plan) {
        if (plan instanceof MxPlan.NullMx) {
            // RFC 7505 §4.1 and RFC 3463 X.1.10 (RFC 7505 §5): the domain accepts no mail
            return finish(
                    "556 5.1.10 " + domain + " accepts no mail (null MX, RFC 7505)",
                    RecipientStatus.State.FAILED);
        }
        if (plan instanceof MxPlan.Undeliverable u) {
            return finish(
                    "550 5.1.2 " + u.detail(),
                    RecipientStatus.State.FAILED); // X.1.2 bad destination system
        }
        if (plan instanceof MxPlan.TryLater t) {
            return finish(
                    "451 4.4.3 " + t.detail(),
                    RecipientStatus.State.PENDING); // X.4.3 directory server failure
        }
        if (message() == null) {
            return finish(
                    "553 5.1.7 the sender address cannot be used in MAIL FROM",
                    RecipientStatus.State.FAILED);
        }
        MxPlan.Hosts hosts = (MxPlan.Hosts) plan;
        hostCount = hosts.hosts().size();
        return tryHost(hosts, 0).thenCompose(v -> finish(null, RecipientStatus.State.PENDING));
    }

    // ---- MX by MX, address by address ----

    private CompletableFuture<Void> tryHost(MxPlan.Hosts hosts, int i) {
        if (i >= hosts.hosts().size()
                || pending.isEmpty()
                || stop
                || addressesTried >= MAX_ADDRESSES) {
            return CompletableFuture.completedFuture(null);
        }
        MxPlan.MxHost host = hosts.hosts().get(i);
        // RFC 8461 §2: DANE, decided per MX host, comes before the domain's policy
        return ctx.dane()
                .lookUp(host.name(), hosts.secure(), ctx.port())
                .thenCompose(
                        dane -> {
                            PolicyContext mxPolicy = policy.forMx(dane);
                            if (!(dane instanceof DanePolicy.NotApplicable)) {
                                LOG.debug("queue {}: {}", envelope.id(), dane.describe());
                            }
                            Optional<Verdict.Refuse> skip =
                                    Enforcer.beforeConnect(mxPolicy, host.name(), requirement());
                            if (skip.isPresent() && skip.get().requireTls()) {
                                requireTlsUnmet.add(host.name());
                                requireTlsReason = skip.get().reason();
                                return tryHost(hosts, i + 1);
                            }
                            if (skip.isPresent()) {
                                // RFC 8461 §4.1 / RFC 7672 §2.1.1: not a candidate now; no address
                                // look-up, no connection
                                skipped(host.name(), mxPolicy, skip.get());
                                return tryHost(hosts, i + 1);
                            }
                            CompletableFuture<List<InetAddress>> addresses;
                            if (dane instanceof DanePolicy.Required) {
                                // RFC 7672 §2.2.1: connect only to the addresses DNSSEC vouched for
                                addresses =
                                        ctx.validating()
                                                .addresses(host.name())
                                                .thenApply(r -> addressesOf(host.name(), r));
                            } else if (host.addresses().isEmpty()) {
                                addresses =
                                        ctx.dns()
                                                .addresses(host.name())
                                                .thenApply(r -> addressesOf(host.name(), r));
                            } else {
                                addresses = CompletableFuture.completedFuture(host.addresses());
                            }
                            return addresses
                                    .thenCompose(list -> tryAddress(host, mxPolicy, list, 0))
                                    .thenCompose(v -> tryHost(hosts, i + 1));
                        });
    }

    private List<InetAddress> addressesOf(String host, DnsResult<List<InetAddress>> r) {
        if (r instanceof DnsResult.Found<List<InetAddress>> f) {
            return f.value();
        }
        lastProblem = "451 4.4.3 address look-up for MX " + host + ": " + r.describe();
        return List.of();
    }

    private CompletableFuture<Void> tryAddress(
            MxPlan.MxHost host, PolicyContext mxPolicy, List<InetAddress> addresses, int j) {
        if (j >= addresses.size() || pending.isEmpty() || stop || addressesTried >= MAX_ADDRESSES) {
            return CompletableFuture.completedFuture(null);
        }
        addressesTried++;
        DeliveryTarget target = new DeliveryTarget(host.name(), addresses.get(j), ctx.port());
        OutboundMessage message = message();
        if (message == null) {
            return CompletableFuture.completedFuture(
                    null); // every pending recipient was unusable, and failed
        }
        return ctx.client()
                .deliver(target, message, mxPolicy)
                .thenCompose(
                        result -> {
                            if (result instanceof DeliveryAttemptResult.Completed c) {
                                completed(host, c);
                                return CompletableFuture.<Void>completedFuture(
                                        null); // deferred recipients: next MX
                            }
                            if (result instanceof DeliveryAttemptResult.Refused r) {
                                if (refusal == null) {
                                    refusal = r.verdict();
                                }
                                // not connected: the host itself is not allowed, so none of its
                                // addresses is
                                return r.connected()
                                        ? tryAddress(host, mxPolicy, addresses, j + 1)
                                        : CompletableFuture.<Void>completedFuture(null);
                            }
                            DeliveryAttemptResult.Failed f = (DeliveryAttemptResult.Failed) result;
                            if (f.possiblyDelivered()) {
                                // RFC 1047: the MX may have the message; another MX now would
                                // likely duplicate it. Retry later.
                                lastProblem =
                                        "451 4.4.2 "
                                                + target
                                                + ": connection lost after the end of data: "
                                                + f.detail();
                                stop = true;
                                return CompletableFuture.<Void>completedFuture(null);
                            }
                            lastProblem = "451 4.4.1 " + target + ": " + f.detail();
                            return tryAddress(host, mxPolicy, addresses, j + 1);
                        });
    }

    private void completed(MxPlan.MxHost host, DeliveryAttemptResult.Completed c) {
        transacted = true;
        boolean dsn = c.session().capabilities().has(Extension.DSN);
        Map<OutboundRecipient, RecipientStatus> byRecipient = new IdentityHashMap<>();
        for (int i = 0; i < c.recipients().size() && i < pending.size(); i++) {
            byRecipient.put(c.recipients().get(i).recipient(), pending.get(i));
        }
        List<RecipientStatus> stillPending = new ArrayList<>();
        for (RecipientResult r : c.recipients()) {
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
                    new DomainResult.Outcome(rs, state, r.reply().toString(), host.name(), dsn));
            if (state == RecipientStatus.State.PENDING) {
                stillPending.add(rs);
                if ("4.7.30".equals(r.reply().enhancedCode())) {
                    requireTlsUnmet.add(host.name()); // the MX does not advertise REQUIRETLS
                    requireTlsReason = r.reply().toString();
                }
            }
        }
        pending = stillPending;
    }

    /** An MX the policy rules out before connecting: the TLS outcome is still recorded (RFC 8460 §4.3). */
    private void skipped(String mxHost, PolicyContext mxPolicy, Verdict.Refuse verdict) {
        if (refusal == null) {
            refusal = verdict;
        }
        TlsOutcome outcome =
                new TlsOutcome(
                        ctx.clock().instant(),
                        mxPolicy,
                        mxHost,
                        "",
                        "",
                        "",
                        verdict.result(),
                        verdict.label(),
                        notConnected(verdict));
        try {
            ctx.outcomes().record(outcome);
        } catch (RuntimeException e) {
            LOG.warn("queue {}: the TLS outcome listener failed", envelope.id(), e);
        }
        // the same line the outbound client writes for an attempt it refuses without connecting
        try (MDC.MDCCloseable q = MDC.putCloseable("queueId", envelope.id());
                MDC.MDCCloseable d = MDC.putCloseable("domain", domain);
                MDC.MDCCloseable m = MDC.putCloseable("mx", mxHost)) {
            LOG.warn(
                    "delivery to {} for {} (policy {}): tls=- verdict=refuse without connecting reply=\"{}\"",
                    mxHost,
                    domain,
                    mxPolicy.daneApplies() ? "dane" : policy.mode().label(),
                    verdict.replyText());
        }
    }

    /** The additional information of an outcome for an MX not connected to. */
    static String notConnected(Verdict.Refuse verdict) {
        return verdict.failure() == TlsFailureType.DNSSEC_INVALID
                ? "not connected: the DNSSEC look-ups for DANE failed"
                : "not connected: the MX host is not in the policy";
    }

    // ---- the result ----

    /**
     * Every recipient not decided yet gets {@code reason} with {@code state}; with a null reason, the pending ones
     * get the best reason known: the MX's own reply when one deferred them, else the policy refusal when nothing
     * was sent anywhere, else the last connection problem.
     */
    private CompletableFuture<DomainResult> finish(String reason, RecipientStatus.State state) {
        if (reason == null && hostCount > 0 && requireTlsUnmet.size() == hostCount) {
            // RFC 8689 §4.2.1 and §6: no MX qualifies for this REQUIRETLS message: a permanent
            // failure, and the DSN
            // goes without REQUIRETLS (a new message in the spool carries no such flag)
            reason =
                    "550 5.7.30 REQUIRETLS support required: no MX of "
                            + domain
                            + " qualifies (last: "
                            + requireTlsReason
                            + ")";
            state = RecipientStatus.State.FAILED;
        }
        boolean policyRefused = false;
        for (RecipientStatus rs : pending) {
            DomainResult.Outcome earlier = outcomes.get(rs);
            if (reason != null) {
                outcomes.put(rs, new DomainResult.Outcome(rs, state, reason, "", false));
            } else if (earlier == null) {
                String why;
                if (refusal != null && !transacted) {
                    why = "451 " + refusal.replyText();
                    policyRefused = true;
                } else if (lastProblem != null) {
                    why = lastProblem;
                } else {
                    why = "451 4.4.4 no usable MX for " + domain; // X.4.4 unable to route
                }
                outcomes.put(
                        rs,
                        new DomainResult.Outcome(
                                rs, RecipientStatus.State.PENDING, why, "", false));
            }
        }
        List<DomainResult.Outcome> ordered = new ArrayList<>(outcomes.values());
        return CompletableFuture.completedFuture(new DomainResult(domain, ordered, policyRefused));
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
     * The message for the pending recipients. A recipient the outbound client would refuse to put in a command
     * (it came from the spool, but check anyway) fails at once; null when none is left or the sender is unusable.
     */
    private OutboundMessage message() {
        List<OutboundRecipient> recipients = new ArrayList<>();
        List<RecipientStatus> usable = new ArrayList<>();
        for (RecipientStatus rs : pending) {
            try {
                recipients.add(
                        new OutboundRecipient(
                                rs.address(), notify(rs.dsnNotify()), orcpt(rs.orcpt())));
                usable.add(rs);
            } catch (IllegalArgumentException e) {
                outcomes.put(
                        rs,
                        new DomainResult.Outcome(
                                rs,
                                RecipientStatus.State.FAILED,
                                "553 5.1.3 the recipient address cannot be used in RCPT TO: "
                                        + e.getMessage(),
                                "",
                                false));
            }
        }
        pending = usable;
        if (recipients.isEmpty()) {
            return null;
        }
        try {
            return new OutboundMessage(
                    envelope.id(),
                    envelope.sender(),
                    recipients,
                    ret(envelope.ret()),
                    XText.encode(envelope.envid()),
                    envelope.body() == Envelope.BodyType.EIGHT_BIT_MIME,
                    envelope.smtpUtf8(),
                    content,
                    requirement());
        } catch (IllegalArgumentException e) {
            return null;
        }
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
