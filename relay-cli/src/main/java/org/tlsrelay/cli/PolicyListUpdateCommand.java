package org.tlsrelay.cli;

import static org.tlsrelay.cli.PolicyListCommand.updaterOf;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.concurrent.Callable;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.policy.list.ListFormatException;
import org.tlsrelay.core.policy.list.ListSignatureException;
import org.tlsrelay.core.policy.list.ListSource;
import org.tlsrelay.core.policy.list.PolicyListUpdater;
import org.tlsrelay.core.policy.list.SignedList;
import org.tlsrelay.core.policy.list.UpdateOutcome;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code tlsrelay policy-list update}: fetch, verify and install every configured list. */
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
final class PolicyListUpdateCommand implements Callable<Integer> {
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
