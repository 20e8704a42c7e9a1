package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Every command's help reads like a man page: what it does, its exit status and an example. */
class HelpTest {

    static List<CommandLine> leaves(CommandLine c) {
        List<CommandLine> out = new ArrayList<>();
        if (c.getSubcommands().isEmpty()) {
            out.add(c);
        }
        c.getSubcommands()
                .forEach(
                        (name, sub) -> {
                            if (!name.equals("help")) {
                                out.addAll(leaves(sub));
                            }
                        });
        return out;
    }

    @Test
    void everyCommandExplainsItselfItsExitStatusAndGivesAnExample() {
        List<CommandLine> leaves = leaves(new CommandLine(new Main()));
        assertTrue(leaves.size() >= 19, "all commands found: " + leaves.size());
        for (CommandLine c : leaves) {
            String[] path =
                    c.getCommandSpec().qualifiedName(" ").replaceFirst("^tlsrelay ", "").split(" ");
            String[] args = new String[path.length + 1];
            System.arraycopy(path, 0, args, 0, path.length);
            args[path.length] = "--help";
            CliRun r = CliRun.run(args);
            String name = String.join(" ", path);
            assertEquals(0, r.exit(), name);
            assertTrue(
                    r.out()
                            .startsWith(
                                    c.getCommandSpec().usageMessage().header().length > 0
                                            ? c.getCommandSpec().usageMessage().header()[0]
                                            : "Usage:"),
                    name + ":\n" + r.out());
            assertTrue(r.out().contains("Usage: tlsrelay " + name), name + ":\n" + r.out());
            assertTrue(r.out().contains("Exit status:"), name + " has no exit status:\n" + r.out());
            assertTrue(r.out().contains("Example"), name + " has no example:\n" + r.out());
            assertTrue(r.out().contains("Options:"), name + ":\n" + r.out());
        }
    }

    @Test
    void topLevelHelpListsEveryCommandWithOneLine() {
        CliRun r = CliRun.run("--help");
        assertEquals(0, r.exit());
        for (String c :
                List.of(
                        "config",
                        "policy-list",
                        "policy",
                        "mta-sts",
                        "run",
                        "queue",
                        "auth",
                        "health")) {
            assertTrue(
                    r.out().lines().anyMatch(l -> l.startsWith("  " + c + " ")),
                    c + "\n" + r.out());
        }
        assertTrue(r.out().contains("relayhost = [127.0.0.1]:2525"));
        assertTrue(r.out().contains("Exit status:"));
        assertEquals(r.out(), CliRun.run().out(), "no command prints the same help");
    }

    @Test
    void versionNamesTheProgramAndTheJavaRuntime() {
        CliRun r = CliRun.run("--version");
        assertEquals(0, r.exit());
        assertTrue(r.out().startsWith("tlsrelay "), r.out());
        assertTrue(r.out().contains("Java " + System.getProperty("java.version")), r.out());
        assertFalse(r.out().contains("null"), r.out());
    }
}
