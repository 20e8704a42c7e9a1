package org.tlsrelay.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.dns.IpAddresses;
import org.tlsrelay.core.enforce.CertificateValidity;
import org.tlsrelay.core.enforce.PeerCertificate;
import org.tlsrelay.core.enforce.TlsObservation;
import org.tlsrelay.core.enforce.TlsOutcomeListener;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.tls.TlsResult;
import org.tlsrelay.smtp.delivery.MxProbe;
import org.tlsrelay.smtp.delivery.MxResolvers;
import org.tlsrelay.smtp.outbound.OutboundClient;
import org.tlsrelay.smtp.outbound.OutboundSettings;
import org.tlsrelay.smtp.outbound.ProbeResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help.Ansi;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code tlsrelay policy check DOMAIN}: the relay's real verdict for a domain. Resolves the policy, reads the TLS-RPT
 * record and the MX list, probes every MX address the way a delivery would (EHLO, STARTTLS, certificate, QUIT; no
 * message) and prints what each showed and what the relay would do. Progress goes to standard error.
 */
@Command(
        name = "check",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        header = "Would the relay deliver to DOMAIN? Probes every MX the way a delivery would.",
        description = {
            "Ask the relay why mail to DOMAIN would (not) leave: resolve DOMAIN's TLS policy as `policy show` does, "
                    + "read its TLS-RPT record (_smtp._tls.DOMAIN, RFC 8460), look up its MX hosts (the domain "
                    + "itself when it has none, RFC 5321 §5.1; a null MX, RFC 7505, means no mail), then connect to "
                    + "every address of every MX exactly as a delivery would (EHLO, STARTTLS, certificate checks, "
                    + "QUIT; no message is sent) on delivery.port.",
            "",
            "For each MX it prints: addresses, whether STARTTLS was offered, the TLS version and cipher, the "
                    + "certificate (subject, DNS names, issuer, expiry), whether the chain is trusted "
                    + "(delivery.trust), whether the certificate names the MX, whether the policy's MX patterns "
                    + "allow it, and the verdict: deliver-tls, deliver-clear, refuse (with the RFC 8460 result "
                    + "type, e.g. certificate-host-mismatch) or unreachable.",
            "",
            "Colour is used only when standard output is a terminal. Progress lines go to standard error."
        },
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:the relay would deliver: at least one MX is acceptable",
            "1:the relay would not deliver now (refused by the policy, no acceptable or reachable MX, null MX, "
                    + "no such domain, DNS failure)",
            "2:usage or configuration error"
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  tlsrelay policy check example.com --config /etc/tlsrelay/tlsrelay.yaml",
            "  tlsrelay policy check example.com --json | jq '.mx[].addresses[].verdict'",
            "",
            "JSON fields: domain, verdict (deliver|refuse), reason, policy (as `policy show --json`), tls_rpt {name, "
                    + "records[], valid, record, rua[], problem}, mx_lookup (found|implicit|null-mx|nxdomain|"
                    + "dns-failure), mx[] {host, preference, implicit, policy_match, address_lookup, dane {applies, "
                    + "state (required|unusable|not-applicable|dnssec-failure), tlsa[], detail}, acceptable, "
                    + "verdict, problem, addresses[] {address, port, connected, stage, error, greeting, "
                    + "starttls_offered, tls {established, version, cipher, failure}, certificate {subject, "
                    + "dns_names[], ip_addresses[], issuer, not_before, not_after}, chain (trusted|untrusted), "
                    + "chain_detail, validity (valid|expired|not-yet-valid), name_match, verdict, result, "
                    + "detail}}. See README.md, \"Checking a domain\"."
        })
final class PolicyCheckCommand implements Callable<Integer> {
    /** Created on first use: Jackson stays unloaded unless --json is given (start-up time). */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    @Parameters(paramLabel = "DOMAIN", description = "The recipient domain to check.")
    String domain;

    @Mixin JsonOption json;

    @Mixin ConfigOption config;

    @Mixin Output output;

    @Override
    public Integer call() throws Exception {
        domain = UsageException.requireDomain(domain);
        String name = DnsNames.normalise(domain);
        RelayConfig cfg = config.load();
        PrintWriter err = output.err();
        OutboundSettings s = OutboundSettings.from(cfg);
        // A probe holds one connection at a time and keeps none for reuse: one event-loop thread is
        // enough.
        OutboundSettings probeSettings =
                new OutboundSettings(
                        s.heloName(),
                        s.connectTimeout(),
                        s.commandTimeout(),
                        1,
                        s.idleTimeout(),
                        0,
                        1);
        // Connect, greeting, EHLO, STARTTLS, handshake, EHLO: each bounded by the configured
        // timeouts.
        Duration probeTimeout =
                s.connectTimeout().plus(s.commandTimeout().multipliedBy(5)).plusSeconds(5);
        try (PolicyWiring wiring = PolicyWiring.open(cfg);
                OutboundClient client =
                        new OutboundClient(
                                probeSettings, wiring.trust(), TlsOutcomeListener.none())) {
            // the resolvers delivery uses: the validating one for the MX and where DANE applies
            MxResolvers resolvers =
                    wiring.resolvers()
                            .validating()
                            .map(
                                    v ->
                                            MxResolvers.withDnssec(
                                                    wiring.dns(), v, cfg.dane().insecureMx()))
                            .orElseGet(() -> MxResolvers.withoutDnssec(wiring.dns()));
            MxProbe probe =
                    new MxProbe(
                            resolvers,
                            client,
                            cfg.delivery().port(),
                            probeTimeout,
                            line -> {
                                err.println("tlsrelay: " + printable(line));
                                err.flush();
                            });
            DomainCheck check = new DomainCheck(wiring.dns(), probe, wiring.timeout());
            DomainCheck.Report report;
            try {
                err.println("tlsrelay: resolving the policy of " + name);
                err.flush();
                ResolvedPolicy policy = wiring.resolver().resolveNow(name, wiring.timeout());
                DomainCheck.TlsRpt tlsRpt = check.tlsRpt(name);
                report = check.run(name, policy, tlsRpt);
            } catch (TimeoutException e) {
                throw wiring.noAnswer(name);
            }
            PrintWriter out = output.out();
            if (json.on()) {
                output.json(toJson(report));
            } else {
                new TextReport(out, Ansi.AUTO.enabled(), Instant.now()).print(report);
            }
            out.flush();
            return report.wouldDeliver() ? 0 : 1;
        }
    }

    // ---- JSON ----

    static ObjectNode toJson(DomainCheck.Report r) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("domain", r.domain());
        o.put("verdict", r.wouldDeliver() ? "deliver" : "refuse");
        o.put("reason", r.reason());
        o.set("policy", ResolvedPolicyView.json(r.policy()));
        ObjectNode rpt = o.putObject("tls_rpt");
        rpt.put("name", r.tlsRpt().name());
        ArrayNode records = rpt.putArray("records");
        r.tlsRpt().records().forEach(records::add);
        rpt.put("valid", r.tlsRpt().valid());
        rpt.put("record", r.tlsRpt().record().orElse(null));
        ArrayNode rua = rpt.putArray("rua");
        r.tlsRpt().rua().forEach(rua::add);
        rpt.put("problem", r.tlsRpt().problem().isEmpty() ? null : r.tlsRpt().problem());
        o.put("mx_lookup", DomainCheck.label(r.mxLookup()));
        ArrayNode mxs = o.putArray("mx");
        for (MxProbe.MxCheck m : r.mxs()) {
            ObjectNode mo = mxs.addObject();
            mo.put("host", m.record().host());
            mo.put("preference", m.record().preference());
            mo.put("implicit", m.implicit());
            if (m.policyMatch().isPresent()) {
                mo.put("policy_match", m.policyMatch().get());
            } else {
                mo.putNull("policy_match");
            }
            mo.put("address_lookup", m.addressLookup());
            mo.set("dane", dane(m.dane()));
            mo.put("acceptable", m.acceptable());
            mo.put("verdict", m.acceptable() ? "deliver" : "refuse");
            mo.put("problem", m.acceptable() ? null : m.problem());
            ArrayNode as = mo.putArray("addresses");
            for (MxProbe.AddressCheck a : m.addresses()) {
                as.add(addressJson(a));
            }
        }
        return o;
    }

    /**
     * What DANE says about one MX host: {@code state} is {@code required} (TLSA records decide, RFC 7672),
     * {@code unusable}, {@code not-applicable} or {@code dnssec-failure}; {@code tlsa} the records as published.
     */
    private static ObjectNode dane(DanePolicy d) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("applies", d instanceof DanePolicy.Required || d instanceof DanePolicy.Failed);
        o.put(
                "state",
                d instanceof DanePolicy.Required
                        ? "required"
                        : d instanceof DanePolicy.Unusable
                                ? "unusable"
                                : d instanceof DanePolicy.Failed
                                        ? "dnssec-failure"
                                        : "not-applicable");
        ArrayNode tlsa = o.putArray("tlsa");
        if (d instanceof DanePolicy.Required r) {
            r.records().forEach(t -> tlsa.add(t.toString()));
        } else if (d instanceof DanePolicy.Unusable u) {
            u.records().forEach(t -> tlsa.add(t.toString()));
        }
        o.put("detail", d.describe());
        return o;
    }

    private static ObjectNode addressJson(MxProbe.AddressCheck a) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("address", IpAddresses.text(a.target().address()));
        o.put("port", a.target().port());
        ProbeResult p = a.probe();
        o.put("connected", p instanceof ProbeResult.Observed);
        o.put(
                "stage",
                p instanceof ProbeResult.Failed f
                        ? f.stage().name().toLowerCase(Locale.ROOT)
                        : null);
        o.put("error", p instanceof ProbeResult.Failed f ? f.detail() : null);
        if (p instanceof ProbeResult.Observed obs) {
            o.put("greeting", obs.greeting().toString());
            TlsObservation t = obs.observation();
            o.put("starttls_offered", t.starttlsOffered());
            ObjectNode tls = o.putObject("tls");
            tls.put("established", t instanceof TlsObservation.Established);
            if (t instanceof TlsObservation.Established e) {
                tls.put("version", e.protocol());
                tls.put("cipher", e.cipherSuite());
                tls.putNull("failure");
                o.set("certificate", certificateJson(e.peer()));
                o.put("chain", e.chainTrusted() ? "trusted" : "untrusted");
                o.put("chain_detail", e.trustDetail().isEmpty() ? null : e.trustDetail());
                o.put("validity", validity(e.validity()));
                o.put("name_match", e.hostNameMatched());
            } else {
                tls.putNull("version");
                tls.putNull("cipher");
                tls.put("failure", t.starttlsOffered() ? t.describe() : null);
                o.putNull("certificate");
                o.putNull("chain");
                o.putNull("chain_detail");
                o.putNull("validity");
                o.putNull("name_match");
            }
        } else {
            o.putNull("greeting");
            o.putNull("starttls_offered");
            o.putNull("tls");
            o.putNull("certificate");
            o.putNull("chain");
            o.putNull("chain_detail");
            o.putNull("validity");
            o.putNull("name_match");
        }
        o.put("verdict", a.verdict());
        o.put("result", a.result().map(DomainCheckText::resultType).orElse(null));
        o.put(
                "detail",
                a.result()
                        .filter(r -> r instanceof TlsResult.Failure)
                        .map(r -> ((TlsResult.Failure) r).detail())
                        .orElse(p instanceof ProbeResult.Failed f ? f.detail() : null));
        return o;
    }

    private static ObjectNode certificateJson(PeerCertificate c) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("subject", c.subject());
        ArrayNode dns = o.putArray("dns_names");
        c.dnsNames().forEach(dns::add);
        ArrayNode ips = o.putArray("ip_addresses");
        c.ipAddresses().forEach(ips::add);
        o.put("issuer", c.issuer());
        o.put("not_before", c.notBefore().toString());
        o.put("not_after", c.notAfter().toString());
        return o;
    }

    static String validity(CertificateValidity v) {
        return v.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Network data (certificate names, greetings) may hold control characters: never pass them to a terminal. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder(s.length());
        s.codePoints().forEach(c -> b.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return b.toString();
    }

    /** Small helpers shared by the text and JSON forms. */
    static final class DomainCheckText {
        private DomainCheckText() {}

        /** {@code success} or the RFC 8460 result type. */
        static String resultType(TlsResult r) {
            return r instanceof TlsResult.Failure f ? f.type().resultType() : "success";
        }
    }

    // ---- text ----

    /** The human form: a header, one table row per MX address, then the certificates seen, then the verdict. */
    static final class TextReport {
        private final PrintWriter out;
        private final boolean colour;
        private final Instant now;

        TextReport(PrintWriter out, boolean colour, Instant now) {
            this.out = out;
            this.colour = colour;
            this.now = now;
        }

        void print(DomainCheck.Report r) {
            ResolvedPolicy p = r.policy();
            field("domain", r.domain());
            field(
                    "policy",
                    p.mode().label()
                            + (p.mxs().isEmpty()
                                    ? ""
                                    : "  mx: "
                                            + p.mxs().stream()
                                                    .map(MxPattern::text)
                                                    .collect(Collectors.joining(", "))));
            field("source", p.sourceDescription());
            field("why", p.explanation());
            p.stsFailure().ifPresent(f -> field("sts failure", f.toString()));
            DomainCheck.TlsRpt t = r.tlsRpt();
            painted(
                    "tls-rpt",
                    t.valid()
                            ? paint(printable(t.record().orElseThrow()), GREEN) + " (valid)"
                            : paint("invalid", YELLOW)
                                    + ": "
                                    + printable(
                                            t.problem()
                                                    + (t.records().isEmpty()
                                                            ? ""
                                                            : " " + t.records())));
            field(
                    "mx",
                    switch (r.mxLookup()) {
                        case FOUND ->
                                r.mxs().stream()
                                        .map(m -> m.record().toString())
                                        .collect(Collectors.joining(", "));
                        case IMPLICIT -> "none; implicit MX " + r.domain() + " (RFC 5321 §5.1)";
                        case NO_ADDRESS ->
                                "none; implicit MX "
                                        + r.domain()
                                        + " (RFC 5321 §5.1), which has no address record";
                        case NULL_MX -> "null MX (RFC 7505): " + r.domain() + " accepts no mail";
                        case NO_SUCH_DOMAIN -> r.domain() + " does not exist (NXDOMAIN)";
                        case DNS_FAILURE -> "look-up failed: " + r.mxDetail();
                    });
            if (!r.mxs().isEmpty()) {
                out.println();
                table(r);
                for (MxProbe.MxCheck m : r.mxs()) {
                    // RFC 8461 §2: where DANE applies to an MX host it wins over every other policy
                    // source
                    field("DANE " + printable(m.record().host()), printable(m.dane().describe()));
                }
                certificates(r);
            }
            out.println();
            painted("verdict", r.wouldDeliver() ? paint("deliver", GREEN) : paint("refuse", RED));
            field("reason", r.reason());
        }

        private void table(DomainCheck.Report r) {
            List<String[]> rows = new ArrayList<>();
            rows.add(
                    new String[] {
                        "MX", "ADDRESS", "STARTTLS", "TLS", "CHAIN", "NAME", "POLICY", "VERDICT"
                    });
            List<String> verdictStyles = new ArrayList<>();
            verdictStyles.add("");
            for (MxProbe.MxCheck m : r.mxs()) {
                String mx = m.record().preference() + " " + m.record().host();
                String pattern = m.policyMatch().map(b -> b ? "match" : "no match").orElse("-");
                if (m.addresses().isEmpty()) {
                    rows.add(
                            new String[] {
                                mx,
                                "-",
                                "-",
                                "-",
                                "-",
                                "-",
                                pattern,
                                m.notAllowed().isPresent()
                                        ? "refuse: " + m.notAllowed().get().failure().resultType()
                                        : "unreachable: " + m.addressLookup()
                            });
                    verdictStyles.add(RED);
                    continue;
                }
                for (MxProbe.AddressCheck a : m.addresses()) {
                    rows.add(row(mx, pattern, a));
                    verdictStyles.add(a.acceptable() ? GREEN : RED);
                    mx = "";
                }
            }
            int[] width = new int[rows.get(0).length];
            for (String[] row : rows) {
                for (int i = 0; i < row.length; i++) {
                    width[i] = Math.max(width[i], row[i].length());
                }
            }
            for (int r2 = 0; r2 < rows.size(); r2++) {
                String[] row = rows.get(r2);
                StringBuilder line = new StringBuilder();
                for (int i = 0; i < row.length; i++) {
                    String cell = i == row.length - 1 ? row[i] : pad(row[i], width[i]) + "  ";
                    line.append(
                            r2 == 0
                                    ? paint(cell, BOLD)
                                    : i == row.length - 1
                                            ? paint(cell, verdictStyles.get(r2))
                                            : cell);
                }
                out.println(line.toString().stripTrailing());
            }
        }

        private static String[] row(String mx, String pattern, MxProbe.AddressCheck a) {
            String address = IpAddresses.withPort(a.target().address(), a.target().port());
            String starttls = "-";
            String tls = "-";
            String chain = "-";
            String name = "-";
            if (a.probe() instanceof ProbeResult.Observed o) {
                TlsObservation t = o.observation();
                starttls =
                        t instanceof TlsObservation.NotOffered
                                ? "no"
                                : t instanceof TlsObservation.StartTlsRejected ? "rejected" : "yes";
                if (t instanceof TlsObservation.Established e) {
                    tls = e.protocol() + " " + e.cipherSuite();
                    chain =
                            !e.chainTrusted()
                                    ? "untrusted"
                                    : e.validity() == CertificateValidity.VALID
                                            ? "trusted"
                                            : validity(e.validity());
                    name = e.hostNameMatched() ? "match" : "mismatch";
                } else if (t instanceof TlsObservation.HandshakeFailed) {
                    tls = "handshake failed";
                }
            }
            String verdict = a.verdict();
            if (a.result().isPresent() && a.result().get() instanceof TlsResult.Failure f) {
                verdict += " (" + f.type().resultType() + ")";
            } else if (a.probe() instanceof ProbeResult.Failed f) {
                verdict += " (" + f.stage().name().toLowerCase(Locale.ROOT) + ")";
            }
            return new String[] {
                printable(mx), address, starttls, tls, chain, name, pattern, verdict
            };
        }

        private void certificates(DomainCheck.Report r) {
            for (MxProbe.MxCheck m : r.mxs()) {
                for (MxProbe.AddressCheck a : m.addresses()) {
                    if (a.probe() instanceof ProbeResult.Failed f) {
                        out.println();
                        out.println(
                                printable(a.target().toString())
                                        + ": "
                                        + f.stage().name().toLowerCase(Locale.ROOT)
                                        + " failed: "
                                        + printable(f.detail()));
                        continue;
                    }
                    if (!(a.probe() instanceof ProbeResult.Observed o)) {
                        continue;
                    }
                    out.println();
                    out.println(printable(a.target().toString()) + ":");
                    detail("greeting", o.greeting().toString());
                    if (o.observation() instanceof TlsObservation.Established e) {
                        PeerCertificate c = e.peer();
                        detail("subject", c.subject());
                        List<String> sans = new ArrayList<>(c.dnsNames());
                        c.ipAddresses().forEach(ip -> sans.add("IP:" + ip));
                        detail(
                                "names",
                                sans.isEmpty() ? "(no subjectAltName)" : String.join(", ", sans));
                        detail("issuer", c.issuer());
                        long days = Duration.between(now, c.notAfter()).toDays();
                        detail(
                                "expires",
                                c.notAfter()
                                        + (now.isAfter(c.notAfter())
                                                ? " (expired)"
                                                : " (in "
                                                        + days
                                                        + " day"
                                                        + (days == 1 ? "" : "s")
                                                        + ")"));
                        detail(
                                "chain",
                                e.chainTrusted() ? "trusted" : "not trusted: " + e.trustDetail());
                    } else {
                        detail("tls", o.observation().describe());
                    }
                    a.result().ifPresent(res -> detail("result", res.describe()));
                }
            }
        }

        private void field(String label, String value) {
            painted(label, printable(value));
        }

        /** A field whose value is already made printable (and maybe painted). */
        private void painted(String label, String value) {
            out.println(pad(label + ":", 14) + value);
        }

        private void detail(String label, String value) {
            out.println("  " + pad(label, 10) + printable(value));
        }

        private static String pad(String s, int width) {
            return s.length() >= width ? s : s + " ".repeat(width - s.length());
        }

        private static final String GREEN = "fg_green";
        private static final String RED = "fg_red";
        private static final String YELLOW = "fg_yellow";
        private static final String BOLD = "bold";

        /** Styles fixed text (never network data: no markup is parsed) when colour is on. */
        private String paint(String text, String style) {
            if (!colour || style.isEmpty()) {
                return text;
            }
            Ansi.Style s = Ansi.Style.valueOf(style);
            return s.on() + text + s.off();
        }
    }
}
