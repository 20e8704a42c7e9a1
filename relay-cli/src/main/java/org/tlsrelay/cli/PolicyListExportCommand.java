package org.tlsrelay.cli;

import static org.tlsrelay.cli.PolicyListCommand.read;
import static org.tlsrelay.cli.PolicyListCommand.updaterOf;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.policy.list.ListFormatException;
import org.tlsrelay.core.policy.list.ListSignatureException;
import org.tlsrelay.core.policy.list.ListSource;
import org.tlsrelay.core.policy.list.ListStore;
import org.tlsrelay.core.policy.list.PolicyListDocument;
import org.tlsrelay.core.policy.list.PolicyListParser;
import org.tlsrelay.core.policy.list.PolicyListUpdater;
import org.tlsrelay.core.policy.list.PostfixExport;
import org.tlsrelay.core.policy.list.SignedList;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tlsrelay policy-list export}: write a list as another MTA's TLS policy table. */
@Command(
        name = "export",
        mixinStandardHelpOptions = true,
        header = "Write a list as another MTA's TLS policy table (Postfix).",
        description = {
            "Write a list as a table for another MTA, on standard output. With FILE, from that policy.json "
                    + "(parsed, not signature-checked: check it with verify first); without FILE, from the "
                    + "installed, verified copy of the list NAME (default: the first configured list).",
            "",
            "--format postfix writes a Postfix smtp_tls_policy_maps table: `domain secure match=mx1:mx2`, "
                    + "where a suffix pattern stays `.example.net` (Postfix's sub-domain syntax). Domains in "
                    + "testing mode are written commented out unless --early-adopter is given (then they are "
                    + "enforced too). An expired list gives a single comment line and no policies.",
            ""
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  tlsrelay policy-list export --format postfix policy.json > tls_policy",
            "  tlsrelay policy-list export --format postfix --early-adopter \\",
            "      --config /etc/tlsrelay/tlsrelay.yaml --list partners",
            "  postmap /etc/postfix/tls_policy",
            "  # main.cf: smtp_tls_policy_maps = hash:/etc/postfix/tls_policy",
            "",
            "Exit status:",
            "  0  table written",
            "  1  invalid list, list not installed, or installed copy does not verify",
            "  2  usage or configuration error"
        })
final class PolicyListExportCommand implements Callable<Integer> {
    /** Output formats of {@code export}. */
    enum Format {
        postfix
    }

    @Option(
            names = "--format",
            paramLabel = "FORMAT",
            defaultValue = "postfix",
            description = "Output format: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    Format format;

    @Option(names = "--early-adopter", description = "Enforce testing-mode domains too.")
    boolean earlyAdopter;

    @Option(
            names = "--list",
            paramLabel = "NAME",
            description = "Which configured list to export (default: the first).")
    String listName;

    @Mixin ConfigOption config;

    @Parameters(
            index = "0",
            arity = "0..1",
            paramLabel = "FILE",
            description = "A policy.json to export.")
    Path file;

    @Mixin Output output;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = output.out();
        PrintWriter err = output.err();
        PolicyListDocument doc;
        String source;
        if (file != null) {
            if (listName != null) {
                throw new UsageException("give either FILE or --list NAME, not both");
            }
            try {
                doc = PolicyListParser.parse(read(file, "FILE"));
            } catch (ListFormatException e) {
                err.println("tlsrelay: " + file + " is not a valid policy list:");
                e.problems().forEach(p -> err.println(file + ": " + p));
                return 1;
            }
            source = file.getFileName().toString();
        } else {
            RelayConfig c = config.load();
            if (c.policy().lists().isEmpty()) {
                throw new UsageException("no policy lists are configured; give a policy.json FILE");
            }
            ListSource list =
                    listName == null
                            ? c.policy().lists().get(0)
                            : c.policy().lists().stream()
                                    .filter(l -> l.name().equals(listName))
                                    .findFirst()
                                    .orElseThrow(
                                            () ->
                                                    new UsageException(
                                                            "no policy list named \""
                                                                    + listName
                                                                    + "\" in the configuration"));
            PolicyListUpdater updater = updaterOf(c);
            Optional<SignedList> installed;
            try {
                installed = updater.installed(list);
            } catch (IOException e) {
                return output.error(1, "list " + list.name() + ": " + Problems.describe(e));
            } catch (ListFormatException e) {
                return output.error(1, "list " + list.name() + ": " + e.getMessage());
            } catch (ListSignatureException e) {
                return output.error(
                        1,
                        "list "
                                + list.name()
                                + ": the installed copy does not verify: "
                                + Problems.describe(e));
            }
            if (installed.isEmpty()) {
                err.println(
                        "tlsrelay: list "
                                + list.name()
                                + " is not installed yet (no "
                                + updater.store(list.name()).dir().resolve(ListStore.POLICY)
                                + "); run tlsrelay policy-list update");
                return 1;
            }
            doc = installed.get().document();
            source = list.name();
        }
        switch (format) {
            case postfix ->
                    out.print(PostfixExport.render(doc, source, Instant.now(), earlyAdopter));
        }
        out.flush();
        return 0;
    }
}
