package org.tlsrelay.cli;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.config.ConfigException;
import org.tlsrelay.core.io.Problems;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code tlsrelay} command: every subcommand is registered here. */
@Command(
        name = "tlsrelay",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        resourceBundle = "org.tlsrelay.cli.Messages",
        synopsisSubcommandLabel = "COMMAND",
        description = {
            "An enforcing outbound SMTP relay (smarthost): mail leaves only over the TLS that the recipient domain "
                    + "asked for (MTA-STS, signed policy lists, local overrides).",
            "",
            "Point an MTA (Postfix: relayhost = [127.0.0.1]:2525) or an application at server.listen; the relay "
                    + "queues each message durably before it answers 250, then delivers it under the domain's "
                    + "policy. Every command reads one YAML configuration file (--config FILE or $TLSRELAY_CONFIG; "
                    + "without either, the built-in defaults of config/tlsrelay.yaml apply). Logs go to standard "
                    + "error; command output to standard output."
        },
        commandListHeading = "%nCommands:%n",
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:success",
            "1:the checked thing is not valid / would be refused / not found",
            "2:usage or configuration error"
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  tlsrelay config check --config /etc/tlsrelay/tlsrelay.yaml",
            "  tlsrelay run --config /etc/tlsrelay/tlsrelay.yaml --log-format json",
            "  tlsrelay policy check example.com     # would mail to it leave? why not?",
            "  tlsrelay queue list",
            "  tlsrelay health                       # is the running relay healthy?",
            "",
            "Environment: TLSRELAY_CONFIG (configuration file), TLSRELAY_LOG_FORMAT (text or json).",
            "`tlsrelay help COMMAND` or `tlsrelay COMMAND --help` explains one command."
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
            ClusterCommand.class,
            DkimCommand.class,
            HealthCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    /** Global, before the command ({@code run} has the same option after it). */
    @Option(
            names = "--log-format",
            paramLabel = "FORMAT",
            description =
                    "Log format on standard error: text (one readable line per event) or json (one JSON "
                            + "object per line, with the MDC keys queueId, domain and mx). Default: $"
                            + LogFormat.ENV
                            + ", else text.")
    void logFormat(String format) {
        LogFormat.parse(format).apply();
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns the exit code (tests call this instead of {@link #main}). */
    public static int execute(String... args) {
        CommandLine cli = new CommandLine(new Main());
        manPageLayout(cli);
        cli.setExecutionExceptionHandler(Main::handleError);
        CommandLine.IParameterExceptionHandler standard = cli.getParameterExceptionHandler();
        cli.setParameterExceptionHandler(
                (e, given) -> {
                    if (e.getCause() instanceof UsageException u) {
                        // thrown by an option setter (--log-format): one line, as every other usage
                        // error
                        e.getCommandLine().getErr().println("tlsrelay: " + u.getMessage());
                        return 2;
                    }
                    return standard.handleParseException(e, given);
                });
        String env = System.getenv(LogFormat.ENV);
        if (env != null && !env.isBlank()) {
            try {
                LogFormat f = LogFormat.parse(env);
                if (!f.label().equals(env)) {
                    f.apply(); // e.g. "JSON": logback.xml names its appenders in lower case
                }
            } catch (UsageException e) {
                cli.getErr()
                        .println(
                                "tlsrelay: $"
                                        + LogFormat.ENV
                                        + ": \""
                                        + env
                                        + "\" is not text or json");
                return 2;
            }
        }
        return cli.execute(args);
    }

    /**
     * The same layout for every command's help, like a man page: name line (header), synopsis, description,
     * parameters, options, subcommands, exit status, examples; wrapped to the terminal's width.
     */
    private static void manPageLayout(CommandLine cli) {
        CommandLine.Model.UsageMessageSpec u = cli.getCommandSpec().usageMessage();
        // the terminal's width when there is one (picocli asks stty); 80 columns into a pipe or a
        // file
        u.autoWidth(System.console() != null);
        u.synopsisHeading(u.header().length == 0 ? "Usage: " : "%nUsage: ");
        if (u.descriptionHeading().isEmpty()) {
            u.descriptionHeading("%n");
        }
        u.parameterListHeading("%nParameters:%n");
        u.optionListHeading("%nOptions:%n");
        u.commandListHeading("%nCommands:%n");
        cli.getSubcommands().values().forEach(Main::manPageLayout);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * Every error a command did not handle itself, as one line (a configuration error: one per problem) that says
     * what is wrong, without a Java class name or a stack trace; exit status 2.
     */
    private static int handleError(Exception e, CommandLine cli, CommandLine.ParseResult parsed) {
        if (e instanceof ConfigException ce) {
            ce.problems().forEach(cli.getErr()::println);
            return 2;
        }
        if (e instanceof UsageException) {
            cli.getErr().println("tlsrelay: " + e.getMessage());
            return 2;
        }
        if (Problems.meaningful(e) instanceof AccessDeniedException denied) {
            // the relay's state, read or changed by a command run as another user (root, an admin)
            cli.getErr().println("tlsrelay: " + StateAccess.runAsRelayUser(denied).getMessage());
            return 2;
        }
        if (!(e instanceof IOException)) {
            // Logging starts here, not at class load: a command that logs nothing does not
            // pay for logback's set-up.
            Logger log = LoggerFactory.getLogger(Main.class);
            log.debug("unexpected error", e); // the stack trace, for a bug report
        }
        cli.getErr().println("tlsrelay: " + Problems.describe(e));
        return 2;
    }
}
