package org.tlsrelay.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An independent DKIM verifier for tests: Debian's {@code python3-dkim} (dkimpy, RSA and Ed25519), run as a child
 * process on a message file, with the key records taken from a {@link DnsStubServer} on loopback. tlsrelay's own
 * code never checks its own signatures.
 *
 * <p>Needs {@code /usr/bin/python3} with the {@code dkim} and {@code dns} modules ({@code apt-get install
 * python3-dkim}; {@code .ci/run} installs it). Without them the test fails and says so.
 */
public final class DkimVerifier {
    /** Debian's interpreter: a python3 first on the PATH (pyenv, venv) does not see Debian's packages. */
    static final Path PYTHON = Path.of("/usr/bin/python3");

    /** What dkimpy said about one signature. */
    public record Verdict(
            String domain, String selector, String algorithm, boolean pass, String detail) {}

    private DkimVerifier() {}

    /** Verifies every DKIM-Signature field of {@code message}, top to bottom. */
    public static List<Verdict> verify(byte[] message, DnsStubServer dns) throws IOException {
        return verifyAll(List.of(message), dns).get(0);
    }

    /**
     * Verifies each message's DKIM-Signature fields, top to bottom, in one run of the verifier (starting Python takes
     * a second).
     */
    public static List<List<Verdict>> verifyAll(List<byte[]> messages, DnsStubServer dns)
            throws IOException {
        Path dir = Files.createTempDirectory("dkim-verify");
        try {
            Path script = dir.resolve("dkim_verify.py");
            try (InputStream in = DkimVerifier.class.getResourceAsStream("dkim_verify.py")) {
                Files.copy(in, script);
            }
            List<String> command = new ArrayList<>();
            command.add(PYTHON.toString());
            command.add(script.toString());
            command.add(Integer.toString(dns.port()));
            for (int i = 0; i < messages.size(); i++) {
                Path file = dir.resolve(i + ".eml");
                Files.write(file, messages.get(i));
                command.add(file.toString());
            }
            if (!Files.isExecutable(PYTHON)) {
                throw new IllegalStateException(
                        PYTHON
                                + " is missing: install python3-dkim (apt-get install -y python3-dkim)");
            }
            Process p =
                    new ProcessBuilder(command)
                            .redirectError(dir.resolve("stderr").toFile())
                            .start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IllegalStateException(
                        "dkim_verify.py failed (is python3-dkim installed? apt-get install -y python3-dkim): "
                                + Files.readString(dir.resolve("stderr")));
            }
            List<List<Verdict>> verdicts = new ArrayList<>();
            messages.forEach(m -> verdicts.add(new ArrayList<>()));
            ObjectMapper json = new ObjectMapper();
            for (String line : new String(out, StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode n = json.readTree(line);
                verdicts.get(n.get("message").asInt())
                        .add(
                                new Verdict(
                                        n.get("d").asText(),
                                        n.get("s").asText(),
                                        n.get("a").asText(),
                                        n.get("result").asText().equals("pass"),
                                        n.get("detail").asText()));
            }
            return verdicts;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while verifying", e);
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
    }
}
