package org.tlsrelay.cli;

import static org.tlsrelay.cli.PolicyListCommand.read;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;
import org.tlsrelay.core.policy.list.ListKey;
import org.tlsrelay.core.policy.list.ListSignatureException;
import org.tlsrelay.core.policy.list.VerifiedSignature;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tlsrelay policy-list verify}: check a list's detached signature against a key. */
@Command(
        name = "verify",
        mixinStandardHelpOptions = true,
        header = "Check a list's detached OpenPGP signature against a public key.",
        description = {
            "Check the detached OpenPGP signature SIG (armored, as made by `gpg --armor --detach-sign`) over the "
                    + "list POLICY against the public key KEY. A signature made by a signing subkey of KEY "
                    + "counts. On success, prints who signed and when.",
            ""
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  tlsrelay policy-list verify --key eff-pubkey.asc policy.json policy.json.asc",
            "",
            "Exit status:",
            "  0  the signature is good",
            "  1  it is not, with the reason:",
            "       bad signature  by KEY, but the data changed or the key was not valid",
            "       unknown key    by a key that is neither KEY nor one of its subkeys",
            "       malformed      SIG is not a detached signature, or KEY no public key",
            "  2  usage error (e.g. a file cannot be read)"
        })
final class PolicyListVerifyCommand implements Callable<Integer> {
    @Option(
            names = "--key",
            required = true,
            paramLabel = "KEY",
            description = "Armored OpenPGP public key (or keys) that must have made the signature.")
    Path key;

    @Parameters(index = "0", paramLabel = "POLICY", description = "The list (policy.json).")
    Path policy;

    @Parameters(
            index = "1",
            paramLabel = "SIG",
            description = "Its detached signature (policy.json.asc).")
    Path signature;

    @Mixin Output output;

    @Override
    public Integer call() {
        PrintWriter out = output.out();
        byte[] data = read(policy, "POLICY");
        byte[] sig = read(signature, "SIG");
        byte[] keyBytes = read(key, "KEY");
        try {
            VerifiedSignature v =
                    ListKey.parse(keyBytes, key.toString()).verify(data, sig, Instant.now());
            out.println(policy + ": good signature");
            out.println("  signed by: " + v.signer());
            out.println(
                    "  key:       "
                            + (v.signingKey().equals(v.primaryKey())
                                    ? v.primaryKey()
                                    : v.signingKey()
                                            + " (signing subkey of "
                                            + v.primaryKey()
                                            + ")"));
            out.println("  made:      " + v.created());
            return 0;
        } catch (ListSignatureException e) {
            out.println(policy + ": NOT valid: " + e.reason().label() + ": " + e.getMessage());
            return 1;
        }
    }
}
