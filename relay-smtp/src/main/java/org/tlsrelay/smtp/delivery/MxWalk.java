package org.tlsrelay.smtp.delivery;

import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.enforce.Admission;
import org.tlsrelay.core.enforce.Enforcer;
import org.tlsrelay.core.enforce.MxPolicy;
import org.tlsrelay.core.enforce.TlsRequirement;
import org.tlsrelay.core.enforce.Verdict;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;

/**
 * The walk over a domain's MX hosts that delivery and {@code policy check} share, so that the check shows what
 * delivery does by construction. Per host, in the order of the MX plan (RFC 5321 §5.1): what DANE says (RFC 7672
 * §2.2; RFC 8461 §2: it comes before the domain's policy), the host's {@link MxPolicy}, {@link Enforcer}'s check
 * before connecting, then, when it may be connected to, its addresses from the resolver DANE requires (RFC 7672
 * §2.2.1). What happens at the host is the {@link Strategy}'s: delivering (the attempt's recipients) or probing
 * (every address, no message).
 */
final class MxWalk {
    private static final Logger LOG = LoggerFactory.getLogger(MxWalk.class);

    /** What a walk does at each MX host; its steps run one after another, never at once. */
    interface Strategy {

        /** Whether to go on to the next MX host (delivery stops once nothing is pending). */
        boolean wantsNextHost();

        /** The walk is about to look at host {@code index} (from 0) of {@code count}. */
        default void visiting(MxPlan.MxHost host, int index, int count) {}

        /** {@link Enforcer} ruled the host out before connecting: no address look-up, no connection. */
        CompletableFuture<Void> skipped(
                MxPlan.MxHost host, MxPolicy policy, Verdict.Refuse refusal);

        /** {@link Enforcer} allows connecting to the host: its addresses, as looked up (or known). */
        CompletableFuture<Void> connect(
                MxPlan.MxHost host,
                Admission.Connect permit,
                DnsResult<List<InetAddress>> addresses);
    }

    private final MxResolvers dns;
    private final int port;

    /** @param port the SMTP port ({@code delivery.port}): the TLSA records asked for are {@code _PORT._tcp} */
    MxWalk(MxResolvers dns, int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range 1..65535");
        }
        this.dns = dns;
        this.port = port;
    }

    MxResolvers resolvers() {
        return dns;
    }

    int port() {
        return port;
    }

    /** Walks {@code hosts} for a message with {@code requirement} to a domain under {@code policy}. */
    CompletableFuture<Void> walk(
            ResolvedPolicy policy,
            TlsRequirement requirement,
            MxPlan.Hosts hosts,
            Strategy strategy) {
        return visit(policy, requirement, hosts, strategy, 0);
    }

    private CompletableFuture<Void> visit(
            ResolvedPolicy policy,
            TlsRequirement requirement,
            MxPlan.Hosts hosts,
            Strategy strategy,
            int i) {
        if (i >= hosts.hosts().size() || !strategy.wantsNextHost()) {
            return CompletableFuture.completedFuture(null);
        }
        MxPlan.MxHost host = hosts.hosts().get(i);
        strategy.visiting(host, i, hosts.hosts().size());
        return dns.dane()
                .lookUp(host.name(), hosts.secure(), port)
                .thenCompose(
                        dane -> {
                            if (!(dane instanceof DanePolicy.NotApplicable)) {
                                LOG.debug("{}: {}", policy.domain(), dane.describe());
                            }
                            MxPolicy mxPolicy = new MxPolicy(policy, dane);
                            Admission admission =
                                    Enforcer.beforeConnect(mxPolicy, host.name(), requirement);
                            if (admission instanceof Admission.Skip skip) {
                                return strategy.skipped(host, mxPolicy, skip.refusal());
                            }
                            Admission.Connect permit = (Admission.Connect) admission;
                            return addresses(host, dane)
                                    .thenCompose(a -> strategy.connect(host, permit, a));
                        })
                .thenCompose(v -> visit(policy, requirement, hosts, strategy, i + 1));
    }

    /**
     * The addresses of {@code host}: where DANE applies only those DNSSEC vouched for, from the validating resolver
     * (RFC 7672 §2.2.1); otherwise those already known (an implicit MX) or the general resolver's.
     */
    CompletableFuture<DnsResult<List<InetAddress>>> addresses(MxPlan.MxHost host, DanePolicy dane) {
        if (dane instanceof DanePolicy.Required) {
            return dns.validating().addresses(host.name());
        }
        if (!host.addresses().isEmpty()) {
            return CompletableFuture.completedFuture(
                    new DnsResult.Found<>(host.name(), host.name(), host.addresses()));
        }
        return dns.general().addresses(host.name());
    }
}
