package org.tlsrelay.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dkim.DkimAlgorithm;
import org.tlsrelay.core.dkim.DkimKeyFile;
import org.tlsrelay.core.dkim.DkimNames;
import org.tlsrelay.core.dkim.KeyCheck;
import org.tlsrelay.core.dkim.KeyRecord;
import org.tlsrelay.core.dkim.SigningKey;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.smtp.dns.DnsjavaResolver;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tlsrelay dkim ...}: make DKIM keys and check that DNS publishes them. */
@Command(
        name = "dkim",
        header = "Make a DKIM key, or check that DNS publishes the configured keys.",
        description =
                "DKIM (RFC 6376, RFC 8463) keys for signing what the relay sends: see dkim.* in the "
                        + "configuration.",
        mixinStandardHelpOptions = true,
        subcommands = {DkimCommand.Keygen.class, DkimCommand.Check.class})
final class DkimCommand extends CommandGroup {
    static String requireDomain(String domain) {
        if (!DkimNames.isDomain(domain)) {
            throw new UsageException("--domain: " + DkimNames.domainProblem(domain));
        }
        return domain.toLowerCase(Locale.ROOT);
    }

    static String requireSelector(String selector) {
        if (!DkimNames.isSelector(selector)) {
            throw new UsageException("--selector: " + DkimNames.selectorProblem(selector));
        }
        return selector.toLowerCase(Locale.ROOT);
    }

    @Command(
            name = "keygen",
            mixinStandardHelpOptions = true,
            sortOptions = false,
            header = "Make a DKIM key and print the DNS record to publish.",
            description = {
                "Writes a new private key to FILE (PEM, PKCS#8, mode 0600; an existing file is never overwritten) "
                        + "and prints, as zone-file lines, the TXT record to publish at SELECTOR._domainkey.DOMAIN "
                        + "and the dkim.keys entry for the configuration.",
                "",
                "RSA keys have 2048 bits by default (2048 to 4096); Ed25519 keys (RFC 8463) are short, but not "
                        + "every receiver verifies them yet: publish both and list both in dkim.keys to sign with "
                        + "both."
            },
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {
                "0:the key was written",
                "2:usage error, or FILE exists or cannot be written"
            },
            footer = {
                "%nExample:",
                "  tlsrelay dkim keygen --domain example.org --selector tlsrelay2026 --out /etc/tlsrelay/dkim/example.org.pem",
                "  tlsrelay dkim keygen --domain example.org --selector ed2026 --algorithm ed25519 --out ed.pem"
            })
    static final class Keygen implements Callable<Integer> {
        @Option(
                names = "--domain",
                required = true,
                paramLabel = "DOMAIN",
                description = "The d= domain.")
        String domain;

        @Option(
                names = "--selector",
                required = true,
                paramLabel = "SELECTOR",
                description = "The s= selector, e.g. tlsrelay2026.")
        String selector;

        @Option(
                names = "--algorithm",
                paramLabel = "ALGORITHM",
                defaultValue = "rsa",
                description = "rsa (default) or ed25519.")
        String algorithm;

        @Option(
                names = "--bits",
                paramLabel = "BITS",
                description = "RSA key size, 2048 (default) to 4096.")
        Integer bits;

        @Option(
                names = "--out",
                required = true,
                paramLabel = "FILE",
                description = "Where to write the private key (a new file).")
        Path out;

        @Mixin Output output;

        @Override
        public Integer call() {
            String d = requireDomain(domain);
            String s = requireSelector(selector);
            DkimAlgorithm a =
                    DkimAlgorithm.ofKeyType(algorithm)
                            .orElseThrow(
                                    () ->
                                            new UsageException(
                                                    "--algorithm: \""
                                                            + algorithm
                                                            + "\" is not rsa or ed25519"));
            if (a == DkimAlgorithm.ED25519_SHA256 && bits != null) {
                throw new UsageException(
                        "--bits applies to RSA keys only (Ed25519 keys have one size)");
            }
            int size = bits == null ? DkimKeyFile.MIN_RSA_BITS : bits;
            if (size < DkimKeyFile.MIN_RSA_BITS || size > DkimKeyFile.MAX_RSA_BITS) {
                throw new UsageException(
                        "--bits: "
                                + size
                                + " is not between "
                                + DkimKeyFile.MIN_RSA_BITS
                                + " and "
                                + DkimKeyFile.MAX_RSA_BITS
                                + " (RFC 8301: 2048 at least; verifiers need not go beyond 4096)");
            }
            KeyPair pair = DkimKeyFile.generate(a, size);
            try {
                DkimKeyFile.write(out, pair.getPrivate());
            } catch (FileAlreadyExistsException e) {
                throw new UsageException(
                        out
                                + " exists: keys are never overwritten; choose another --out or remove it first");
            } catch (IOException e) {
                throw new UsageException("cannot write " + out + ": " + Problems.reason(e));
            }
            SigningKey key = SigningKey.of(d, s, pair.getPrivate());
            KeygenOutput.print(output.out(), key, out.toAbsolutePath().normalize());
            return 0;
        }
    }

    /** What keygen prints: a zone-file snippet, commented. */
    static final class KeygenOutput {
        private KeygenOutput() {}

        static void print(PrintWriter w, SigningKey key, Path file) {
            w.println("; DKIM key " + key + " written to " + file + " (mode 0600)");
            w.println("; 1. publish this TXT record:");
            w.println(zoneLine(key));
            w.println("; 2. add the key to the configuration:");
            w.println(";    dkim:");
            w.println(";      keys:");
            w.println(
                    ";        - { domain: "
                            + key.domain()
                            + ", selector: "
                            + key.selector()
                            + ", private-key: "
                            + file
                            + " }");
            w.println(
                    "; 3. once DNS serves it: tlsrelay dkim check --domain "
                            + key.domain()
                            + " --selector "
                            + key.selector());
            w.flush();
        }

        /** {@code S._domainkey.D. IN TXT ( "..." "..." )}: strings of at most 255 octets (RFC 1035 §3.3.14). */
        static String zoneLine(SigningKey key) {
            String record = KeyRecord.render(key);
            List<String> parts = new ArrayList<>();
            for (int i = 0; i < record.length(); i += 255) {
                parts.add("\"" + record.substring(i, Math.min(record.length(), i + 255)) + "\"");
            }
            return key.recordName() + ". IN TXT ( " + String.join(" ", parts) + " )";
        }
    }

    @Command(
            name = "check",
            mixinStandardHelpOptions = true,
            sortOptions = false,
            header = "Check that DNS publishes the configured DKIM keys.",
            description = {
                "Looks up SELECTOR._domainkey.DOMAIN (TXT) through the relay's resolver (dns.servers) for every "
                        + "key in dkim.keys, or only for --domain and --selector, and says whether the record "
                        + "there publishes that key. A missing, different, revoked or malformed record says what "
                        + "to publish."
            },
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {
                "0:every checked key is published",
                "1:a key's record is missing or does not match (or DNS failed)",
                "2:usage or configuration error (no such key in dkim.keys)"
            },
            footer = {
                "%nExamples:",
                "  tlsrelay dkim check --config /etc/tlsrelay/tlsrelay.yaml",
                "  tlsrelay dkim check --domain example.org --selector tlsrelay2026 --json"
            })
    static final class Check implements Callable<Integer> {
        @Mixin ConfigOption config;

        @Option(
                names = "--domain",
                paramLabel = "DOMAIN",
                description = "Check only this domain's key...")
        String domain;

        @Option(
                names = "--selector",
                paramLabel = "SELECTOR",
                description = "...with this selector.")
        String selector;

        @Mixin JsonOption json;

        @Mixin Output output;

        static final long TIMEOUT_SECONDS = 30;

        @Override
        public Integer call() throws Exception {
            if ((domain == null) != (selector == null)) {
                throw new UsageException("--domain and --selector go together");
            }
            String d = domain == null ? null : requireDomain(domain);
            String s = selector == null ? null : requireSelector(selector);
            RelayConfig c = config.load();
            List<SigningKey> keys = new ArrayList<>();
            for (RelayConfig.DkimKey k : c.dkim().keys()) {
                if (d == null
                        || (k.domain().equalsIgnoreCase(d) && k.selector().equalsIgnoreCase(s))) {
                    keys.add(k.load());
                }
            }
            if (keys.isEmpty()) {
                throw new UsageException(
                        domain == null
                                ? "no DKIM keys in the configuration (dkim.keys): nothing to check"
                                : "dkim.keys has no key for domain "
                                        + domain
                                        + " with selector "
                                        + selector
                                        + config.file().map(f -> " in " + f).orElse(""));
            }
            DnsResolver dns = DnsjavaResolver.create(c.dns());
            List<KeyCheck> checks = new ArrayList<>();
            for (SigningKey k : keys) {
                checks.add(KeyCheck.of(k, lookUp(dns, k.recordName())));
            }
            boolean ok = checks.stream().allMatch(KeyCheck::matches);
            PrintWriter out = output.out();
            if (json.on()) {
                output.json(json(keys, checks, ok));
            } else {
                for (int i = 0; i < keys.size(); i++) {
                    SigningKey k = keys.get(i);
                    KeyCheck r = checks.get(i);
                    out.println(
                            k
                                    + " at "
                                    + k.recordName()
                                    + ": "
                                    + r.status().label().toUpperCase(Locale.ROOT)
                                    + ": "
                                    + r.detail());
                }
            }
            out.flush();
            return ok ? 0 : 1;
        }

        private static DnsResult<List<String>> lookUp(DnsResolver dns, String name)
                throws InterruptedException {
            try {
                return dns.txt(name).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                return new DnsResult.Failed<>(
                        name,
                        DnsResult.Failure.TIMEOUT,
                        "no answer within " + TIMEOUT_SECONDS + " s");
            }
        }

        private static ObjectNode json(List<SigningKey> keys, List<KeyCheck> checks, boolean ok)
                throws IOException {
            ObjectMapper m = new ObjectMapper();
            ObjectNode root = m.createObjectNode();
            root.put("ok", ok);
            ArrayNode list = root.putArray("keys");
            for (int i = 0; i < keys.size(); i++) {
                SigningKey k = keys.get(i);
                KeyCheck r = checks.get(i);
                ObjectNode o = list.addObject();
                o.put("domain", k.domain());
                o.put("selector", k.selector());
                o.put("algorithm", k.algorithm().tag());
                o.put("name", k.recordName());
                o.put("status", r.status().label());
                o.put("detail", r.detail());
                o.put("expected", KeyRecord.render(k));
                ArrayNode published = o.putArray("published");
                r.published().forEach(published::add);
            }
            return root;
        }
    }
}
