package org.tlsrelay.cli;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.Callable;
import org.tlsrelay.core.auth.PasswordHash;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tlsrelay auth ...}: SMTP AUTH helpers. */
@Command(
        name = "auth",
        mixinStandardHelpOptions = true,
        header = "SMTP AUTH helpers.",
        description =
                "Helpers for SMTP AUTH (RFC 4954) users: server.auth.users lists each user with a password "
                        + "hash, never a password.",
        subcommands = {AuthCommand.Hash.class})
final class AuthCommand extends CommandGroup {
    @Command(
            name = "hash",
            mixinStandardHelpOptions = true,
            header = "Print a password hash for server.auth.users.",
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {
                "0:the hash was printed",
                "2:usage error (bad --cost or --iterations, the passwords "
                        + "differ, or the password is empty)"
            },
            description = {
                "Print a password hash for server.auth.users[].password-hash. The password is read from "
                        + "the terminal (twice, not echoed) or, without a terminal, from the first line of standard input."
            },
            footer = {
                "%nExample:%n  tlsrelay auth hash            # bcrypt, cost 12",
                "  printf '%%s\\n' \"$PW\" | tlsrelay auth hash --pbkdf2"
            })
    static final class Hash implements Callable<Integer> {
        @Mixin Output output;

        @Option(
                names = "--pbkdf2",
                description = "PBKDF2-HMAC-SHA-256 (passlib format) instead of bcrypt.")
        boolean pbkdf2;

        @Option(
                names = "--cost",
                paramLabel = "N",
                defaultValue = "12",
                description = "bcrypt cost, 4..31 (default: ${DEFAULT-VALUE}).")
        int cost;

        @Option(
                names = "--iterations",
                paramLabel = "N",
                defaultValue = "600000",
                description = "PBKDF2 iterations, at least 10000 (default: ${DEFAULT-VALUE}).")
        int iterations;

        @Override
        public Integer call() throws IOException {
            if (cost < 4 || cost > 31) {
                throw new UsageException("--cost must be 4..31");
            }
            if (iterations < PasswordHash.MIN_PBKDF2_ITERATIONS) {
                throw new UsageException(
                        "--iterations must be at least " + PasswordHash.MIN_PBKDF2_ITERATIONS);
            }
            char[] password = read();
            try {
                if (password.length == 0) {
                    throw new UsageException("the password is empty");
                }
                output.out()
                        .println(
                                pbkdf2
                                        ? PasswordHash.pbkdf2(password, iterations)
                                        : PasswordHash.bcrypt(password, cost));
                output.out().flush();
                return 0;
            } finally {
                Arrays.fill(password, '\0');
            }
        }

        private static char[] read() throws IOException {
            Console console = System.console();
            if (console != null) {
                char[] a = console.readPassword("Password: ");
                char[] b = console.readPassword("Again: ");
                if (a == null || b == null || !Arrays.equals(a, b)) {
                    throw new UsageException("the passwords do not match");
                }
                Arrays.fill(b, '\0');
                return a;
            }
            String line =
                    new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                            .readLine();
            return line == null ? new char[0] : line.toCharArray();
        }
    }
}
