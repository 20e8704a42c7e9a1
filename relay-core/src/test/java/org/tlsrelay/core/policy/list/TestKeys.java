package org.tlsrelay.core.policy.list;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.bcpg.SymmetricKeyAlgorithmTags;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.api.OpenPGPImplementation;
import org.bouncycastle.openpgp.api.OpenPGPKey;
import org.bouncycastle.openpgp.api.OpenPGPKeyGenerator;
import org.bouncycastle.openpgp.api.bc.BcOpenPGPImplementation;

/**
 * OpenPGP keys made up in the test with Bouncy Castle, shaped like a publisher's GnuPG key: a certify-only primary
 * key and a signing subkey, both (legacy) Ed25519 in v4 packets, secret parts protected with iterated-salted S2K so
 * that GnuPG 2.2 can import them. Also the EFF fixtures from the test resources. Shared with relay-cli's tests.
 */
public final class TestKeys {
    private static final OpenPGPImplementation OPENPGP = new BcOpenPGPImplementation();

    private final OpenPGPKey key;

    private TestKeys(OpenPGPKey key) {
        this.key = key;
    }

    /** A fresh key (created 30 days ago), unprotected when {@code passphrase} is empty. */
    public static TestKeys generate(String userId, String passphrase) {
        try {
            Date created = Date.from(Instant.now().minus(Duration.ofDays(30)));
            OpenPGPKeyGenerator g =
                    new OpenPGPKeyGenerator(
                            OPENPGP,
                            4,
                            OPENPGP.pgpKeyPairGeneratorProvider(),
                            OPENPGP.pgpDigestCalculatorProvider(),
                            // CFB + iterated-salted S2K as GnuPG writes it; a low count (0x60:
                            // 65536 bytes) keeps tests fast
                            OPENPGP.pbeSecretKeyEncryptorFactory(
                                    false, SymmetricKeyAlgorithmTags.AES_256, 0x60),
                            OPENPGP.keyFingerPrintCalculator(),
                            created);
            OpenPGPKeyGenerator.WithPrimaryKey b =
                    g.withPrimaryKey(k -> k.generateLegacyEd25519KeyPair())
                            .addUserId(userId)
                            .addSigningSubkey(k -> k.generateLegacyEd25519KeyPair());
            return new TestKeys(
                    passphrase.isEmpty() ? b.build() : b.build(passphrase.toCharArray()));
        } catch (PGPException e) {
            throw new IllegalStateException("cannot generate a test OpenPGP key", e);
        }
    }

    /** The key itself, for tests that need to sign in ways {@link ListSigner} does not. */
    OpenPGPKey key() {
        return key;
    }

    public String armoredPublic() {
        try {
            return key.toCertificate().toAsciiArmoredString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String armoredSecret() {
        try {
            return key.toAsciiArmoredString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String primaryFingerprint() {
        return ListKey.hex(key.getFingerprint());
    }

    public ListKey publicKey() {
        try {
            return ListKey.parse(armoredPublic().getBytes(StandardCharsets.US_ASCII), "test key");
        } catch (ListSignatureException e) {
            throw new IllegalStateException(e);
        }
    }

    public Path writePublic(Path file) throws IOException {
        return Files.writeString(file, armoredPublic());
    }

    public Path writeSecret(Path file) throws IOException {
        return Files.writeString(file, armoredSecret());
    }

    /** A detached armored signature over {@code data} made at {@code created} (key must be unprotected). */
    public byte[] sign(byte[] data, Instant created) {
        try {
            return ListSigner.sign(
                            data,
                            armoredSecret().getBytes(StandardCharsets.US_ASCII),
                            new char[0],
                            created)
                    .armored()
                    .getBytes(StandardCharsets.US_ASCII);
        } catch (ListSigningException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A v0.1 list with the given times and policies JSON (the part inside {@code "policies": {...}}). */
    public static byte[] list(Instant timestamp, Instant expires, String policies) {
        return ("""
                {
                  "timestamp": "%s",
                  "expires": "%s",
                  "version": "0.1",
                  "author": "Test Org",
                  "policy-aliases": {
                    "hosted": { "mode": "enforce", "mxs": [".mx.hosted.example"] }
                  },
                  "policies": {
                %s
                  }
                }
                """)
                .formatted(timestamp, expires, policies)
                .getBytes(StandardCharsets.UTF_8);
    }

    /** The default policies of {@link #list(Instant, Instant, String)} callers. */
    public static final String POLICIES =
            """
                "example.com": { "mode": "enforce", "mxs": ["mx1.example.com", ".example.net"] },
                "example.org": { "mode": "testing", "mxs": ["mail.example.org"] },
                "customer.example": { "policy-alias": "hosted" }""";

    /** A resource from {@code src/test/resources/eff/}: the real EFF list, signature and key. */
    public static byte[] eff(String name) {
        try (InputStream in = TestKeys.class.getResourceAsStream("/eff/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource /eff/" + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Copies an EFF fixture to {@code dir} and returns the file. */
    public static Path copyEff(String name, Path dir) throws IOException {
        return Files.write(dir.resolve(name), eff(name));
    }
}
