package org.tlsrelay.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.mtasts.FetchResult;
import org.tlsrelay.core.policy.mtasts.PolicyFetcher;
import org.tlsrelay.core.policy.mtasts.PolicyParse;
import org.tlsrelay.core.policy.mtasts.PolicyParser;
import org.tlsrelay.core.policy.mtasts.Probe;
import org.tlsrelay.core.policy.mtasts.StsTxtRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tlsrelay mta-sts ...}: check MTA-STS policies (RFC 8461) as a domain owner or operator. */
@Command(
        name = "mta-sts",
        header = "Lint an MTA-STS policy file, or fetch a domain's policy.",
        description = "MTA-STS (RFC 8461) tools for domain owners and operators.",
        mixinStandardHelpOptions = true,
        subcommands = {MtaStsCommand.Lint.class, MtaStsCommand.Fetch.class})
final class MtaStsCommand extends CommandGroup {
    @Command(
            name = "lint",
            mixinStandardHelpOptions = true,
            header = "Check an MTA-STS policy file before publishing it.",
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {
                "0:the policy is valid (and allows the --check-mx host)",
                "1:it is not",
                "2:FILE cannot be read"
            },
            description = {
                "Check an MTA-STS policy file (RFC 8461 §3.2) before publishing it. Prints one JSON object "
                        + "{valid, version, mode, mx[], max_age, errors[], warnings[]} (and mx_allowed with --check-mx). "
                        + "Exits 0 when the policy is valid (and allows the --check-mx host), 1 when not, 2 when FILE "
                        + "cannot be read."
            },
            footer = {"%nExample:%n  tlsrelay mta-sts lint mta-sts.txt --check-mx mx1.example.com"})
    static final class Lint implements Callable<Integer> {
        @Parameters(
                paramLabel = "FILE",
                description = "The policy file (\"-\" reads standard input).")
        String file;

        @Option(
                names = "--check-mx",
                paramLabel = "HOST",
                description =
                        "Also say whether the policy allows this MX host name (field mx_allowed).")
        String checkMx;

        @Mixin Output output;

        @Override
        public Integer call() throws Exception {
            if (checkMx != null && !DnsNames.isValid(checkMx)) {
                throw new UsageException("--check-mx: \"" + checkMx + "\" is not a host name");
            }
            byte[] body = read(file);
            PolicyParse parse = PolicyParser.parse(body);
            ObjectMapper m = new ObjectMapper();
            ObjectNode o = m.createObjectNode();
            o.put("valid", parse.valid());
            o.put("version", parse.version().orElse(null));
            o.put("mode", parse.mode().map(PolicyMode::label).orElse(null));
            ArrayNode mx = o.putArray("mx");
            parse.mx().forEach(mx::add);
            if (parse.maxAge().isPresent()) {
                o.put("max_age", parse.maxAge().get());
            } else {
                o.putNull("max_age");
            }
            ArrayNode errors = o.putArray("errors");
            parse.errors().forEach(errors::add);
            ArrayNode warnings = o.putArray("warnings");
            parse.warnings().forEach(warnings::add);
            boolean allowed = true;
            if (checkMx != null) {
                allowed = parse.allowsMx(checkMx);
                o.put("mx_allowed", allowed);
            }
            output.json(o);
            return parse.valid() && allowed ? 0 : 1;
        }

        private static byte[] read(String file) {
            try {
                if (file.equals("-")) {
                    return System.in.readNBytes(PolicyParser.MAX_BYTES + 1);
                }
                try (InputStream in = Files.newInputStream(Path.of(file))) {
                    // One byte more than senders read is enough for the parser to call the file too
                    // large.
                    return in.readNBytes(PolicyParser.MAX_BYTES + 1);
                }
            } catch (NoSuchFileException e) {
                throw new UsageException(file + ": no such file");
            } catch (IOException e) {
                throw new UsageException(file + ": cannot read: " + Problems.reason(e));
            }
        }
    }

    @Command(
            name = "fetch",
            mixinStandardHelpOptions = true,
            header = "Fetch DOMAIN's MTA-STS policy as a first contact would.",
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {
                "0:a valid policy was fetched",
                "1:none (the failure and its RFC 8460 type are printed)",
                "2:usage or configuration error"
            },
            description = {
                "Run MTA-STS discovery and the policy fetch for DOMAIN as a first contact would (no cache, "
                        + "no back-off, nothing stored): the _mta-sts TXT record, then "
                        + "https://mta-sts.DOMAIN/.well-known/mta-sts.txt. Prints the policy or the failure with its "
                        + "RFC 8460 type. Exits 0 when a valid policy was fetched, 1 when not, 2 on a usage or "
                        + "configuration error."
            },
            footer = {
                "%nExample:%n  tlsrelay mta-sts fetch example.com --config /etc/tlsrelay/tlsrelay.yaml"
            })
    static final class Fetch implements Callable<Integer> {
        @Parameters(paramLabel = "DOMAIN", description = "The policy domain.")
        String domain;

        @Mixin JsonOption json;

        @Mixin ConfigOption config;

        @Mixin Output output;

        @Override
        public Integer call() throws Exception {
            domain = UsageException.requireDomain(domain);
            var cfg = config.load();
            try (PolicyWiring wiring = PolicyWiring.open(cfg)) {
                Probe probe;
                try {
                    probe =
                            wiring.mtaSts()
                                    .probe(domain)
                                    .get(wiring.timeout().toMillis(), TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    throw wiring.noAnswer(domain);
                } catch (ExecutionException e) {
                    throw new IllegalStateException(e.getCause());
                }
                String url =
                        PolicyFetcher.url(
                                DnsNames.normalise(domain), cfg.policy().mtaSts().httpsPort());
                PrintWriter out = output.out();
                if (json.on()) {
                    output.json(toJson(probe, url));
                } else {
                    printText(out, probe, url);
                }
                out.flush();
                return probe.policy().isPresent() ? 0 : 1;
            }
        }

        private static String txtStatus(Probe p) {
            DnsResult<List<String>> txt = p.txt();
            if (txt instanceof DnsResult.Failed<List<String>> f) {
                return "DNS failure: " + f.failure() + " (" + f.detail() + ")";
            }
            return p.discovery()
                    .map(
                            d ->
                                    d instanceof StsTxtRecord.Found found
                                            ? "id " + found.id()
                                            : "no policy: " + ((StsTxtRecord.NoPolicy) d).reason())
                    .orElse("");
        }

        static void printText(PrintWriter out, Probe p, String url) {
            out.println("domain:   " + p.domain());
            out.println(
                    "txt:      _mta-sts."
                            + p.domain()
                            + " "
                            + p.txt().found().map(List::toString).orElse(p.txt().describe()));
            out.println("discover: " + txtStatus(p));
            if (p.fetch().isEmpty()) {
                out.println("result:   no MTA-STS policy (nothing fetched)");
                return;
            }
            out.println("url:      " + url);
            p.failure()
                    .ifPresent(
                            f ->
                                    out.println(
                                            "failure:  "
                                                    + f.type().resultType()
                                                    + ": "
                                                    + f.detail()));
            p.parse()
                    .ifPresent(
                            parse -> parse.warnings().forEach(w -> out.println("warning:  " + w)));
            p.policy()
                    .ifPresent(
                            policy -> {
                                out.println(
                                        "result:   valid policy (mode "
                                                + policy.mode().label()
                                                + ", max_age "
                                                + policy.maxAgeSeconds()
                                                + "s)");
                                out.println("policy:");
                                policy.lines().forEach(l -> out.println("  " + l));
                            });
        }

        static ObjectNode toJson(Probe p, String url) {
            ObjectMapper m = new ObjectMapper();
            ObjectNode o = m.createObjectNode();
            o.put("domain", p.domain());
            ArrayNode txt = o.putArray("txt");
            p.txt().found().orElse(List.of()).forEach(txt::add);
            o.put("discovery", txtStatus(p));
            o.put(
                    "id",
                    p.discovery()
                            .filter(d -> d instanceof StsTxtRecord.Found)
                            .map(d -> ((StsTxtRecord.Found) d).id())
                            .orElse(null));
            o.put("url", p.fetch().map(FetchResult::url).orElse(url));
            o.put("valid", p.policy().isPresent());
            o.put("failure", p.failure().map(f -> f.type().resultType()).orElse(null));
            o.put("failure_detail", p.failure().map(f -> f.detail()).orElse(null));
            if (p.policy().isPresent()) {
                var policy = p.policy().get();
                ObjectNode po = o.putObject("policy");
                po.put("mode", policy.mode().label());
                ArrayNode mx = po.putArray("mx");
                policy.mx().forEach(x -> mx.add(x.text()));
                po.put("max_age", policy.maxAgeSeconds());
                ArrayNode lines = po.putArray("lines");
                policy.lines().forEach(lines::add);
            } else {
                o.putNull("policy");
            }
            return o;
        }
    }
}
