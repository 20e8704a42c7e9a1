package org.tlsrelay.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.io.PrivateFiles;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.list.ListEntry;
import org.tlsrelay.core.policy.list.ListFormatException;
import org.tlsrelay.core.policy.list.ListKey;
import org.tlsrelay.core.policy.list.ListProblem;
import org.tlsrelay.core.policy.list.ListSignatureException;
import org.tlsrelay.core.policy.list.ListSigner;
import org.tlsrelay.core.policy.list.ListSigningException;
import org.tlsrelay.core.policy.list.ListSource;
import org.tlsrelay.core.policy.list.ListStore;
import org.tlsrelay.core.policy.list.PolicyListDocument;
import org.tlsrelay.core.policy.list.PolicyListParser;
import org.tlsrelay.core.policy.list.PolicyListUpdater;
import org.tlsrelay.core.policy.list.PostfixExport;
import org.tlsrelay.core.policy.list.SignedList;
import org.tlsrelay.core.policy.list.UpdateOutcome;
import org.tlsrelay.core.policy.list.VerifiedSignature;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tlsrelay policy-list ...}: check, sign, install and export STARTTLS-Everywhere-format policy lists. */
@Command(
        name = "policy-list",
        mixinStandardHelpOptions = true,
        synopsisSubcommandLabel = "COMMAND",
        header =
                "Verify, lint, sign, update and export signed policy lists (STARTTLS-Everywhere format).",
        description = {
            "Work with signed STARTTLS-Everywhere-format policy lists (EFF's policy.json format 0.1): a JSON list of "
                    + "mail domains, each with a mode (enforce or testing) and the MX host names allowed for it, "
                    + "published with a detached OpenPGP signature (policy.json.asc).",
            "",
            "The relay uses the lists configured under policy.lists, each verified against its pinned key, installed "
                    + "under the state directory beside the spool (lists/NAME/) and refreshed every `refresh`.",
            ""
        },
        subcommands = {
            PolicyListCommand.Verify.class,
            PolicyListCommand.Lint.class,
            PolicyListCommand.Sign.class,
            PolicyListCommand.Update.class,
            PolicyListCommand.Export.class
        },
        footerHeading = "%nExit status:%n",
        footer = {
            "  0  success",
            "  1  not valid / refused / failed (see the command)",
            "  2  usage error"
        })
final class PolicyListCommand extends CommandGroup {
    // ---- verify ----

    @Command(
            name = "verify",
            mixinStandardHelpOptions = true,
            header = "Check a list's detached OpenPGP signature against a public key.",
            description = {
                "Check the detached OpenPGP signature SIG (armored, as made by `gpg --armor --detach-sign`) over the "
                        + "list POLICY against the public key KEY. A signature made by a signing subkey of KEY "
                        + "counts. On success, prints who signed and when.",
                ""
            },
            footerHeading = "%nExamples:%n",
            footer = {
                "  tlsrelay policy-list verify --key eff-pubkey.asc policy.json policy.json.asc",
                "",
                "Exit status:",
                "  0  the signature is good",
                "  1  it is not, with the reason:",
                "       bad signature  by KEY, but the data changed or the key was not valid",
                "       unknown key    by a key that is neither KEY nor one of its subkeys",
                "       malformed      SIG is not a detached signature, or KEY no public key",
                "  2  usage error (e.g. a file cannot be read)"
            })
    static final class Verify implements Callable<Integer> {
        @Option(
                names = "--key",
                required = true,
                paramLabel = "KEY",
                description =
                        "Armored OpenPGP public key (or keys) that must have made the signature.")
        Path key;

        @Parameters(index = "0", paramLabel = "POLICY", description = "The list (policy.json).")
        Path policy;

        @Parameters(
                index = "1",
                paramLabel = "SIG",
                description = "Its detached signature (policy.json.asc).")
        Path signature;

        @Mixin Output output;

        @Override
        public Integer call() {
            PrintWriter out = output.out();
            byte[] data = read(policy, "POLICY");
            byte[] sig = read(signature, "SIG");
            byte[] keyBytes = read(key, "KEY");
            try {
                VerifiedSignature v =
                        ListKey.parse(keyBytes, key.toString()).verify(data, sig, Instant.now());
                out.println(policy + ": good signature");
                out.println("  signed by: " + v.signer());
                out.println(
                        "  key:       "
                                + (v.signingKey().equals(v.primaryKey())
                                        ? v.primaryKey()
                                        : v.signingKey()
                                                + " (signing subkey of "
                                                + v.primaryKey()
                                                + ")"));
                out.println("  made:      " + v.created());
                return 0;
            } catch (ListSignatureException e) {
                out.println(policy + ": NOT valid: " + e.reason().label() + ": " + e.getMessage());
                return 1;
            }
        }
    }

    // ---- lint ----

    @Command(
            name = "lint",
            mixinStandardHelpOptions = true,
            separator = " ",
            header =
                    "Check a list's format; optionally whether an MX host is allowed for a domain.",
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
    static final class Lint implements Callable<Integer> {
        @Parameters(
                index = "0",
                paramLabel = "FILE",
                description = "The list to check (policy.json).")
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

        private static int check(
                PolicyListDocument doc, String domain, String host, PrintWriter out) {
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
                            + String.join(
                                    ", ", e.policy().mxs().stream().map(MxPattern::text).toList())
                            + ")");
            return 1;
        }
    }

    // ---- sign ----

    @Command(
            name = "sign",
            mixinStandardHelpOptions = true,
            header = "Sign a list with an OpenPGP secret key, writing POLICY.asc.",
            description = {
                "Sign the list POLICY with an OpenPGP secret key and write the detached, armored signature to "
                        + "POLICY.asc (replacing it), so that an organisation can publish its own list for its "
                        + "partners. The list must pass lint first. The signature uses SHA-512 and is checked "
                        + "against the key before it is written; `gpgv` and `tlsrelay policy-list verify` accept it.",
                "",
                "KEY is a secret key as exported by `gpg --armor --export-secret-keys KEYID`; its signing subkey "
                        + "is used if it has one. Publish POLICY and POLICY.asc side by side, and give partners the "
                        + "public key (`gpg --armor --export KEYID`) to configure as their list's `key`. Raise the "
                        + "list's timestamp with every edition: relays refuse an older one as a rollback.",
                ""
            },
            footerHeading = "%nExamples:%n",
            footer = {
                "  tlsrelay policy-list sign --secret-key secret.asc policy.json",
                "  tlsrelay policy-list sign --secret-key secret.asc --passphrase-file pw.txt \\",
                "      policy.json",
                "",
                "Exit status:",
                "  0  POLICY.asc written",
                "  1  not signed: invalid list, unusable key, missing or wrong passphrase",
                "  2  usage error (e.g. a file cannot be read)"
            })
    static final class Sign implements Callable<Integer> {
        @Option(
                names = "--secret-key",
                required = true,
                paramLabel = "KEY",
                description = "Armored OpenPGP secret key to sign with.")
        Path secretKey;

        @Option(
                names = "--passphrase-file",
                paramLabel = "F",
                description =
                        "File whose first line is the passphrase of KEY (if it is protected).")
        Path passphraseFile;

        @Parameters(
                index = "0",
                paramLabel = "POLICY",
                description = "The list to sign (policy.json).")
        Path policy;

        @Mixin Output output;

        @Override
        public Integer call() {
            PrintWriter out = output.out();
            PrintWriter err = output.err();
            byte[] data = read(policy, "POLICY");
            byte[] key = read(secretKey, "KEY");
            char[] passphrase =
                    passphraseFile == null ? new char[0] : firstLine(read(passphraseFile, "F"));
            PolicyListDocument doc;
            try {
                doc = PolicyListParser.parse(data);
            } catch (ListFormatException e) {
                err.println("tlsrelay: " + policy + " is not a valid policy list; not signed:");
                e.problems().forEach(p -> err.println(policy + ": " + p));
                return 1;
            }
            Instant now = Instant.now();
            if (doc.isExpiredAt(now)) {
                err.println(
                        "tlsrelay: warning: "
                                + policy
                                + " expired at "
                                + doc.expires()
                                + "; relays will not apply it");
            }
            ListSigner.Signed signed;
            try {
                signed = ListSigner.sign(data, key, passphrase, now);
            } catch (ListSigningException e) {
                return output.error(1, policy + " not signed: " + e.getMessage());
            } finally {
                java.util.Arrays.fill(passphrase, '\0');
            }
            Path asc = policy.resolveSibling(policy.getFileName() + ".asc");
            try {
                PrivateFiles.replace(asc, signed.armored().getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
                return output.error(1, "cannot write " + asc + ": " + Problems.reason(e));
            }
            out.println(
                    "Wrote "
                            + asc
                            + ": signed by "
                            + signed.signature().describe()
                            + " at "
                            + signed.signature().created());
            return 0;
        }

        private static char[] firstLine(byte[] bytes) {
            String text = new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
            int end = text.indexOf('\n');
            String line = end < 0 ? text : text.substring(0, end);
            return (line.endsWith("\r") ? line.substring(0, line.length() - 1) : line)
                    .toCharArray();
        }
    }

    // ---- update ----

    @Command(
            name = "update",
            mixinStandardHelpOptions = true,
            header = "Fetch, verify and install every configured list now.",
            description = {
                "Update every list configured under policy.lists now: fetch url and signature-url (https: with the "
                        + "relay's delivery.trust, or file:), verify the signature against the list's key, refuse "
                        + "a rollback (a signature time or timestamp older than the installed copy's), and install "
                        + "atomically under STATE/lists/NAME/ (STATE is the directory that holds the spool). A "
                        + "failed update keeps the last good copy. A running relay does the same on its own, "
                        + "every `refresh` of each list.",
                ""
            },
            footerHeading = "%nExamples:%n",
            footer = {
                "  tlsrelay policy-list update --config /etc/tlsrelay/tlsrelay.yaml",
                "",
                "Exit status:",
                "  0  every list was installed or is unchanged",
                "  1  at least one list failed (its last good copy stays in place)",
                "  2  configuration error"
            })
    static final class Update implements Callable<Integer> {
        @Mixin ConfigOption config;

        @Mixin Output output;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = output.out();
            RelayConfig c = config.load();
            if (c.policy().lists().isEmpty()) {
                out.println("No policy lists are configured (policy.lists); nothing to update.");
                return 0;
            }
            PolicyListUpdater updater = updaterOf(c);
            int failed = 0;
            for (ListSource list : c.policy().lists()) {
                out.println(list.name() + ": fetching " + list.url());
                out.flush();
                UpdateOutcome outcome = updater.update(list);
                if (outcome instanceof UpdateOutcome.Installed i) {
                    out.println(list.name() + ": installed " + i.installed().summary());
                    expiryWarning(i.installed(), out);
                } else if (outcome instanceof UpdateOutcome.Unchanged u) {
                    out.println(
                            list.name()
                                    + ": unchanged (timestamp "
                                    + u.current().document().timestamp()
                                    + ")");
                    expiryWarning(u.current(), out);
                } else if (outcome instanceof UpdateOutcome.Failed f) {
                    failed++;
                    out.println(list.name() + ": FAILED: " + f.reason());
                    out.println(list.name() + ": " + lastGood(updater, list));
                }
            }
            out.println(
                    failed == 0
                            ? "All " + c.policy().lists().size() + " list(s) up to date."
                            : failed + " of " + c.policy().lists().size() + " list(s) failed.");
            return failed == 0 ? 0 : 1;
        }

        private static void expiryWarning(SignedList list, PrintWriter out) {
            if (list.document().isExpiredAt(Instant.now())) {
                out.println(
                        list.name()
                                + ": WARNING: this list EXPIRED at "
                                + list.document().expires()
                                + " and is not applied; is its publisher still updating it?");
            }
        }

        private static String lastGood(PolicyListUpdater updater, ListSource list) {
            try {
                return updater.installed(list)
                        .map(
                                l ->
                                        "keeping the last good copy (timestamp "
                                                + l.document().timestamp()
                                                + ", expires "
                                                + l.document().expires()
                                                + ")")
                        .orElse(
                                "no copy is installed: the list does not apply until an update succeeds");
            } catch (IOException | ListFormatException e) {
                return "the installed copy is not usable either: " + e.getMessage();
            } catch (ListSignatureException e) {
                return "the installed copy is not usable either: " + e;
            }
        }
    }

    // ---- export ----

    /** Output formats of {@code export}. */
    enum Format {
        postfix
    }

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
    static final class Export implements Callable<Integer> {
        @Option(
                names = "--format",
                paramLabel = "FORMAT",
                defaultValue = "postfix",
                description =
                        "Output format: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
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
                    throw new UsageException(
                            "no policy lists are configured; give a policy.json FILE");
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

    // ---- helpers ----

    private static PolicyListUpdater updaterOf(RelayConfig c) {
        try {
            return PolicyListUpdater.from(c.listSettings(), Clock.systemUTC());
        } catch (IOException e) {
            throw new UsageException("delivery.trust: " + Problems.describe(e));
        }
    }

    /** Reads an argument file; a missing or unreadable file is a usage error (exit 2). */
    static byte[] read(Path file, String what) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new UsageException(what + " " + file + ": no such file");
        } catch (IOException e) {
            throw new UsageException(what + " " + file + ": cannot read: " + Problems.reason(e));
        }
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
