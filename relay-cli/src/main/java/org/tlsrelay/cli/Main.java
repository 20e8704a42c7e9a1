package org.tlsrelay.cli;

import org.tlsrelay.core.config.ConfigException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code tlsrelay} command: every subcommand is registered here. */
@Command(name = "tlsrelay",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        synopsisSubcommandLabel = "COMMAND",
        description = {
            "An enforcing outbound SMTP relay (smarthost): mail leaves only over the TLS that the recipient domain "
                    + "asked for (MTA-STS, signed policy lists, local overrides).",
            ""
        },
        footerHeading = "%nExit status:%n",
        footer = {
            "  0  success", "  1  the checked thing is not valid / would be refused", "  2  usage or configuration error"
        },
        subcommands = {
            ConfigCommand.class,
            PolicyListCommand.class,
            PolicyCommand.class,
            MtaStsCommand.class,
            RunCommand.class,
            QueueCommand.class,
            AuthCommand.class,
            ReportCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns the exit code (tests call this instead of {@link #main}). */
    public static int execute(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler(Main::handleError);
        return cli.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    private static int handleError(Exception e, CommandLine cli, CommandLine.ParseResult parsed) {
        if (e instanceof ConfigException ce) {
            ce.problems().forEach(cli.getErr()::println);
            return 2;
        }
        if (e instanceof UsageException) {
            cli.getErr().println("tlsrelay: " + e.getMessage());
            return 2;
        }
        cli.getErr().println("tlsrelay: " + e);
        return 2;
    }
}
