package org.tlsrelay.cli;

import static org.tlsrelay.cli.PolicyListCommand.read;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;
import org.tlsrelay.core.io.PrivateFiles;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.policy.list.ListFormatException;
import org.tlsrelay.core.policy.list.ListSigner;
import org.tlsrelay.core.policy.list.ListSigningException;
import org.tlsrelay.core.policy.list.PolicyListDocument;
import org.tlsrelay.core.policy.list.PolicyListParser;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tlsrelay policy-list sign}: sign a list, writing {@code POLICY.asc}. */
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
final class PolicyListSignCommand implements Callable<Integer> {
    @Option(
            names = "--secret-key",
            required = true,
            paramLabel = "KEY",
            description = "Armored OpenPGP secret key to sign with.")
    Path secretKey;

    @Option(
            names = "--passphrase-file",
            paramLabel = "F",
            description = "File whose first line is the passphrase of KEY (if it is protected).")
    Path passphraseFile;

    @Parameters(index = "0", paramLabel = "POLICY", description = "The list to sign (policy.json).")
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
        return (line.endsWith("\r") ? line.substring(0, line.length() - 1) : line).toCharArray();
    }
}
