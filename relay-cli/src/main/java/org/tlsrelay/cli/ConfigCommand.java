package org.tlsrelay.cli;

import java.util.concurrent.Callable;
import org.tlsrelay.core.config.RelayConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code tlsrelay config ...}: work with the configuration file. */
@Command(
        name = "config",
        header = "Check the configuration file.",
        description =
                "Work with the configuration file (one YAML file; see config/tlsrelay.yaml for every key, "
                        + "its default and a comment).",
        mixinStandardHelpOptions = true,
        subcommands = {ConfigCommand.Check.class})
final class ConfigCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(
            name = "check",
            mixinStandardHelpOptions = true,
            header = "Validate the configuration file.",
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {
                "0:the configuration is valid",
                "2:it is not (every problem is printed)"
            },
            description = {
                "Validate the configuration: prints OK and exits 0, or prints every error "
                        + "(file:line: key: problem) and exits 2."
            },
            footer = {"%nExample:%n  tlsrelay config check --config /etc/tlsrelay/tlsrelay.yaml"})
    static final class Check implements Callable<Integer> {
        @Mixin ConfigOption config;

        @Spec CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            RelayConfig c = config.load();
            spec.commandLine()
                    .getOut()
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
            return 0;
        }
    }
}
