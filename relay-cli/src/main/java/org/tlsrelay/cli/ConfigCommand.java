package org.tlsrelay.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.tlsrelay.core.config.ConfigException;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.smtp.dns.DnssecProbe;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tlsrelay config ...}: work with the configuration file. */
@Command(
        name = "config",
        header = "Check the configuration file.",
        description =
                "Work with the configuration file (one YAML file; see config/tlsrelay.yaml for every key, "
                        + "its default and a comment).",
        mixinStandardHelpOptions = true,
        subcommands = {ConfigCommand.Check.class})
final class ConfigCommand extends CommandGroup {
    @Command(
            name = "check",
            mixinStandardHelpOptions = true,
            header = "Validate the configuration file.",
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {
                "0:the configuration is valid (and, with --probe-dns, every DNS server passed)",
                "1:--probe-dns: a DNS server did not answer the DNSSEC check usefully (run would start and "
                        + "hold DANE look-ups until it does)",
                "2:it is not (every problem is printed), or --probe-dns found a DNS server that run would "
                        + "refuse"
            },
            description = {
                "Validate the configuration: prints OK and exits 0, or prints every error "
                        + "(file:line: key: problem) and exits 2. Besides the file itself it checks what it can "
                        + "without starting: the listen addresses are this machine's, this user may create and "
                        + "write the spool, the TLS certificate and key are readable and belong together, the "
                        + "AUTH hashes, CA files, trust anchors and policy-list keys can be used. Lines starting "
                        + "with \"warning:\" name what is allowed but likely wrong.",
                "",
                "With --probe-dns and dns.dnssec: validate, also asks each of dns.servers for the trust "
                        + "anchors' DNSKEY records with the DO bit, as run does at start: each server must "
                        + "offer recursion and return keys with signatures that validate against "
                        + "dns.trust-anchors. One line per server."
            },
            footer = {
                "%nExamples:%n  tlsrelay config check --config /etc/tlsrelay/tlsrelay.yaml",
                "  tlsrelay config check --probe-dns --config /etc/tlsrelay/tlsrelay.yaml"
            })
    static final class Check implements Callable<Integer> {
        @Mixin ConfigOption config;

        @Option(
                names = "--probe-dns",
                description =
                        "Also check that dns.servers can carry DNSSEC validation, as run does at start.")
        boolean probeDns;

        @Mixin Output output;

        @Override
        public Integer call() throws Exception {
            RelayConfig c = config.load();
            List<String> problems = ConfigCheck.problems(c, config.file());
            if (!problems.isEmpty()) {
                throw new ConfigException(problems);
            }
            output.out()
                    .println(
                            "OK"
                                    + config.file()
                                            .map(f -> ": " + f)
                                            .orElse(" (built-in defaults)")
                                    + " — listen "
                                    + c.server().listen()
                                    + ", spool "
                                    + c.spool().dir()
                                    + ", "
                                    + c.policy().lists().size()
                                    + " policy list(s), "
                                    + c.policy().overrides().size()
                                    + " override(s)");
            ConfigCheck.warnings(c).forEach(w -> output.out().println("warning: " + w));
            return probeDns ? probe(c) : 0;
        }

        private int probe(RelayConfig c) {
            PrintWriter out = output.out();
            if (c.dns().dnssec() == RelayConfig.DnssecMode.OFF) {
                out.println("dns.dnssec: off: no DNSSEC validation and no DANE; nothing to probe");
                return 0;
            }
            DnssecProbe.Result result;
            try {
                result = DnssecProbe.of(c.dns()).check();
            } catch (IOException | IllegalArgumentException e) {
                return output.error(2, e.getMessage());
            }
            result.lines().forEach(out::println);
            Optional<String> wrong = result.misconfiguration();
            if (wrong.isPresent()) {
                return output.error(2, wrong.get());
            }
            return result.validates() ? 0 : 1;
        }
    }
}
