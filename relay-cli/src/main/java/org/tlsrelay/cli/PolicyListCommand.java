package org.tlsrelay.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.policy.list.PolicyListUpdater;
import picocli.CommandLine.Command;

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
            PolicyListVerifyCommand.class,
            PolicyListLintCommand.class,
            PolicyListSignCommand.class,
            PolicyListUpdateCommand.class,
            PolicyListExportCommand.class
        },
        footerHeading = "%nExit status:%n",
        footer = {
            "  0  success",
            "  1  not valid / refused / failed (see the command)",
            "  2  usage error"
        })
final class PolicyListCommand extends CommandGroup {
    // ---- helpers shared by the subcommands ----

    /** The updater for the configured lists; an unusable delivery.trust is a configuration error (exit 2). */
    static PolicyListUpdater updaterOf(RelayConfig c) {
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
}
