package org.tlsrelay.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dane.DaneLookup;
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.dane.InsecureMxPolicy;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.dns.MxRecord;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code tlsrelay policy ...}: which TLS policy applies to a domain, and why. */
@Command(
        name = "policy",
        header = "Which TLS policy applies to a domain, and would the relay deliver there?",
        description =
                "Show the TLS policy that applies to a recipient domain (show), or check what the relay would "
                        + "do with mail to it, MX by MX (check).",
        mixinStandardHelpOptions = true,
        subcommands = {PolicyCommand.Show.class, PolicyCheckCommand.class})
final class PolicyCommand extends CommandGroup {
    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            header = "Which TLS policy applies to DOMAIN, and why.",
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {
                "0:the policy was resolved (whatever it is)",
                "2:usage or configuration error, or no " + "answer in time"
            },
            description = {
                "Resolve DOMAIN's policy as the relay would: forced override > MTA-STS (live or cached) > "
                        + "first policy list > override > none. Prints the mode, the allowed MX patterns, the source and "
                        + "why it won. Uses DNS, the MTA-STS policy host and the on-disk caches; a policy it fetches is "
                        + "cached like the relay would. Exits 0, or 2 on a usage or configuration error."
            },
            footer = {
                "%nExample:%n  tlsrelay policy show example.com --json --config /etc/tlsrelay/tlsrelay.yaml"
            })
    static final class Show implements Callable<Integer> {
        @Parameters(paramLabel = "DOMAIN", description = "The recipient domain.")
        String domain;

        @Mixin JsonOption json;

        @Mixin ConfigOption config;

        @Mixin Output output;

        @Override
        public Integer call() throws Exception {
            domain = UsageException.requireDomain(domain);
            RelayConfig cfg = config.load();
            try (PolicyWiring wiring = PolicyWiring.open(cfg)) {
                ResolvedPolicy p;
                Dane dane;
                try {
                    p = wiring.resolver().resolveNow(domain, wiring.timeout());
                    dane =
                            Dane.of(
                                    wiring,
                                    DnsNames.normalise(domain),
                                    cfg.delivery().port(),
                                    cfg.dane().insecureMx());
                } catch (TimeoutException e) {
                    throw wiring.noAnswer(domain);
                }
                PrintWriter out = output.out();
                if (json.on()) {
                    ObjectNode o = ResolvedPolicyView.json(p);
                    o.set("dane", dane.toJson());
                    output.json(o);
                } else {
                    ResolvedPolicyView.print(out, p);
                    dane.print(out);
                }
                out.flush();
                return 0;
            }
        }

        /**
         * DANE for each MX host of the domain (RFC 7672), which wins over the policy above for that host (RFC 8461
         * §2): {@code summary} says whether DNSSEC is on and how the validated MX look-up went.
         */
        record Dane(String summary, List<DanePolicy> hosts) {
            static Dane of(
                    PolicyWiring wiring, String domain, int port, InsecureMxPolicy insecureMx)
                    throws TimeoutException, InterruptedException {
                Optional<DnsResolver> validating = wiring.resolvers().validating();
                if (validating.isEmpty()) {
                    return new Dane("off (dns.dnssec: off)", List.of());
                }
                long ms = wiring.timeout().toMillis();
                DnsResult<List<MxRecord>> mx = get(validating.get().mx(domain), ms);
                if (mx.isFailed()) {
                    return new Dane(
                            "validated MX look-up failed: "
                                    + mx.describe()
                                    + "; delivery would wait",
                            List.of());
                }
                List<String> hosts =
                        mx.found()
                                .map(
                                        l ->
                                                l.stream()
                                                        .map(MxRecord::host)
                                                        .filter(h -> !h.isEmpty())
                                                        .toList())
                                .orElse(List.of(domain));
                DaneLookup lookup = new DaneLookup(validating.get(), insecureMx);
                List<DanePolicy> out = new ArrayList<>();
                for (String h : hosts) {
                    out.add(get(lookup.lookUp(h, mx.isSecure(), port), ms));
                }
                return new Dane(
                        "MX records " + (mx.isSecure() ? "DNSSEC-secure" : "not DNSSEC-secure"),
                        out);
            }

            private static <T> T get(CompletableFuture<T> f, long ms)
                    throws TimeoutException, InterruptedException {
                try {
                    return f.get(ms, TimeUnit.MILLISECONDS);
                } catch (ExecutionException e) {
                    throw new IllegalStateException(e.getCause());
                }
            }

            ObjectNode toJson() {
                ObjectNode o = new ObjectMapper().createObjectNode();
                o.put("summary", summary);
                ArrayNode mx = o.putArray("mx");
                for (DanePolicy d : hosts) {
                    ObjectNode h = mx.addObject();
                    h.put("host", d.mxHost());
                    h.put(
                            "applies",
                            d instanceof DanePolicy.Required || d instanceof DanePolicy.Failed);
                    ArrayNode tlsa = h.putArray("tlsa");
                    if (d instanceof DanePolicy.Required r) {
                        r.records().forEach(t -> tlsa.add(t.toString()));
                    }
                    h.put("detail", d.describe());
                }
                return o;
            }

            void print(PrintWriter out) {
                out.println("dane:         " + summary);
                for (DanePolicy d : hosts) {
                    out.println("  " + d.describe());
                }
            }
        }
    }
}
