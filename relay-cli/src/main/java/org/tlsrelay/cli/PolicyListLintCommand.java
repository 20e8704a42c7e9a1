package org.tlsrelay.cli;

import static org.tlsrelay.cli.PolicyListCommand.read;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.list.ListEntry;
import org.tlsrelay.core.policy.list.ListFormatException;
import org.tlsrelay.core.policy.list.ListProblem;
import org.tlsrelay.core.policy.list.PolicyListDocument;
import org.tlsrelay.core.policy.list.PolicyListParser;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tlsrelay policy-list lint}: check a list's format and, with {@code --check}, an MX host. */
@Command(
        name = "lint",
        mixinStandardHelpOptions = true,
        separator = " ",
        header = "Check a list's format; optionally whether an MX host is allowed for a domain.",
        description = {
            "Check that FILE is a well-formed policy list (format 0.1): required fields, RFC 3339 or epoch "
                    + "times, modes, MX patterns, aliases (an alias must not point at another alias; a policy "
                    + "must not point at a missing alias), no duplicate or unknown keys. Every problem is "
                    + "printed with its JSON path, e.g. $.policies[\"example.com\"].mxs[2].",
            "",
            "Also says whether the list has expired: not an error for lint, but a relay ignores an expired list.",
            "",
            "With --check, also prints whether MXHOST is an allowed MX for DOMAIN and by which pattern: "
                    + "\"mx.example.net\" exactly, or the suffix \".example.net\" (one or more extra labels, any "
                    + "depth). Domains and names compare case-insensitively.",
            ""
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  tlsrelay policy-list lint policy.json",
            "  tlsrelay policy-list lint policy.json --check yahoo.com mta7.am0.yahoodns.net",
            "",
            "Exit status:",
            "  0  the list is valid (and, with --check, the MX host is allowed)",
            "  1  the list is invalid, or (--check) the host is not allowed or the domain",
            "     is not listed",
            "  2  usage error (e.g. FILE cannot be read)"
        })
final class PolicyListLintCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "The list to check (policy.json).")
    Path file;

    @Option(
            names = "--check",
            arity = "2",
            paramLabel = "DOMAIN MXHOST",
            hideParamSyntax = true,
            description =
                    "Show whether MXHOST is allowed for DOMAIN, and by which pattern. May be repeated.")
    List<String> check;

    @Mixin Output output;

    @Override
    public Integer call() {
        PrintWriter out = output.out();
        for (int i = 0; check != null && i + 1 < check.size(); i += 2) {
            requireCheckable(check.get(i), check.get(i + 1));
        }
        PolicyListDocument doc;
        try {
            doc = PolicyListParser.parse(read(file, "FILE"));
        } catch (ListFormatException e) {
            out.println(
                    file
                            + ": INVALID policy list, "
                            + e.problems().size()
                            + (e.problems().size() == 1 ? " problem:" : " problems:"));
            for (ListProblem p : e.problems()) {
                out.println(file + ": " + p);
            }
            return 1;
        }
        Instant now = Instant.now();
        long enforce = doc.enforcingCount();
        out.println(file + ": valid policy list (version " + doc.version() + ")");
        for (String w : doc.warnings()) {
            out.println(file + ": warning: " + w);
        }
        doc.author().ifPresent(a -> out.println("  author:    " + a));
        out.println("  timestamp: " + doc.timestamp());
        out.println(
                "  expires:   "
                        + doc.expires()
                        + (doc.isExpiredAt(now)
                                ? " -- EXPIRED "
                                        + days(Duration.between(doc.expires(), now))
                                        + " ago: a relay does not apply "
                                        + "an expired list (its domains get opportunistic TLS)"
                                : " (valid for "
                                        + days(Duration.between(now, doc.expires()))
                                        + ")"));
        out.println(
                "  domains:   "
                        + doc.entries().size()
                        + " ("
                        + enforce
                        + " enforce, "
                        + (doc.entries().size() - enforce)
                        + " testing; "
                        + doc.aliasedCount()
                        + " through "
                        + doc.aliases().size()
                        + (doc.aliases().size() == 1 ? " alias)" : " aliases)"));
        int status = 0;
        for (int i = 0; check != null && i + 1 < check.size(); i += 2) {
            status = Math.max(status, check(doc, check.get(i), check.get(i + 1), out));
        }
        return status;
    }

    /**
     * A name with an empty label ({@code mx..example.net}) or a {@code *} label is no host name: no pattern could
     * allow it, so asking is a usage error rather than a "NOT allowed".
     */
    private static void requireCheckable(String domain, String host) {
        if (!DnsNames.isValid(domain)) {
            throw new UsageException("--check: \"" + domain + "\" is not a domain name");
        }
        if (!DnsNames.isValid(host)) {
            throw new UsageException(
                    "--check: \""
                            + host
                            + "\" is not a host name (dot-separated labels of letters, digits and"
                            + " hyphens)");
        }
    }

    private static int check(PolicyListDocument doc, String domain, String host, PrintWriter out) {
        Optional<ListEntry> entry = doc.entry(domain);
        if (entry.isEmpty()) {
            out.println("check: " + domain + " is NOT listed: this list has no policy for it");
            return 1;
        }
        ListEntry e = entry.get();
        String mode =
                "mode "
                        + e.policy().mode().label()
                        + (e instanceof ListEntry.Aliased a
                                ? ", through alias \"" + a.alias() + "\""
                                : "");
        Optional<MxPattern> match =
                e.policy().mxs().stream().filter(p -> p.matches(host)).findFirst();
        if (match.isPresent()) {
            MxPattern p = match.get();
            out.println(
                    "check: "
                            + host
                            + " is allowed for "
                            + e.domain()
                            + " by "
                            + (p instanceof MxPattern.Suffix
                                    ? "suffix pattern \""
                                    : "exact name \"")
                            + p.text()
                            + "\" ("
                            + mode
                            + ")");
            return 0;
        }
        out.println(
                "check: "
                        + host
                        + " is NOT allowed for "
                        + e.domain()
                        + " ("
                        + mode
                        + "; allowed: "
                        + String.join(", ", e.policy().mxs().stream().map(MxPattern::text).toList())
                        + ")");
        return 1;
    }

    private static String days(Duration d) {
        long days = d.toDays();
        if (days >= 2) {
            return days + " days";
        }
        long hours = d.toHours();
        return hours == 1 ? "1 hour" : hours + " hours";
    }
}
