package org.tlsrelay.core.dkim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Key files written by OpenSSL (an independent implementation) and by the relay, and the key record. */
class KeyFilesTest {
    @TempDir Path dir;

    /** Runs openssl; returns its standard output. */
    private byte[] openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(dir.resolve("err").toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), () -> read(dir.resolve("err")));
        return out;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Test
    void readsOpenSslKeysAndPublishesWhatOpenSslDerives() throws Exception {
        Path pkcs1 = dir.resolve("rsa1.pem");
        openssl("genrsa", "-traditional", "-out", pkcs1.toString(), "2048");
        assertTrue(Files.readString(pkcs1).startsWith("-----BEGIN RSA PRIVATE KEY-----"));
        SigningKey rsa = DkimKeyFile.read("example.org", "sel", pkcs1);
        assertEquals(DkimAlgorithm.RSA_SHA256, rsa.algorithm());
        assertEquals(2048, rsa.bits());
        assertEquals(256, rsa.signatureLength());
        // p= is the DER SubjectPublicKeyInfo, exactly what openssl derives from the private key
        assertArrayEquals(
                openssl("pkey", "-in", pkcs1.toString(), "-pubout", "-outform", "DER"),
                rsa.publicKeyData());

        Path ed = dir.resolve("ed.pem");
        openssl("genpkey", "-algorithm", "ed25519", "-out", ed.toString());
        SigningKey ed25519 = DkimKeyFile.read("Example.ORG", "Sel", ed);
        assertEquals(DkimAlgorithm.ED25519_SHA256, ed25519.algorithm());
        assertEquals("sel._domainkey.example.org", ed25519.recordName());
        byte[] spki = openssl("pkey", "-in", ed.toString(), "-pubout", "-outform", "DER");
        // RFC 8463 §4.2: p= is the bare 32-octet key, the last 32 octets of the
        // SubjectPublicKeyInfo
        assertArrayEquals(
                java.util.Arrays.copyOfRange(spki, spki.length - 32, spki.length),
                ed25519.publicKeyData());
        assertEquals(
                "v=DKIM1; k=ed25519; p="
                        + Base64.getEncoder().encodeToString(ed25519.publicKeyData()),
                KeyRecord.render(ed25519));
    }

    @Test
    void refusesShortForeignEncryptedAndMissingKeysSayingWhatToDo() throws Exception {
        Path shortRsa = dir.resolve("short.pem");
        openssl(
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:1024",
                "-out",
                shortRsa.toString());
        String m =
                assertThrows(
                                InvalidKeyFileException.class,
                                () -> DkimKeyFile.read("a.example", "s", shortRsa))
                        .getMessage();
        assertTrue(
                m.contains("1024 bits") && m.contains("2048 or more") && m.contains("keygen"), m);

        Path ec = dir.resolve("ec.pem");
        openssl(
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                ec.toString());
        m =
                assertThrows(
                                InvalidKeyFileException.class,
                                () -> DkimKeyFile.read("a.example", "s", ec))
                        .getMessage();
        assertTrue(m.contains("RSA") && m.contains("Ed25519"), m);

        Path enc = dir.resolve("enc.pem");
        openssl(
                "genpkey",
                "-algorithm",
                "ed25519",
                "-aes-128-cbc",
                "-pass",
                "pass:secret",
                "-out",
                enc.toString());
        m =
                assertThrows(
                                InvalidKeyFileException.class,
                                () -> DkimKeyFile.read("a.example", "s", enc))
                        .getMessage();
        assertTrue(m.contains("encrypted") && m.contains("openssl pkey"), m);

        m =
                assertThrows(
                                InvalidKeyFileException.class,
                                () -> DkimKeyFile.read("a.example", "s", dir.resolve("nope.pem")))
                        .getMessage();
        assertTrue(m.endsWith("nope.pem: no such file"), m);

        Path cert = dir.resolve("junk.pem");
        Files.writeString(cert, "hello\n");
        m =
                assertThrows(
                                InvalidKeyFileException.class,
                                () -> DkimKeyFile.read("a.example", "s", cert))
                        .getMessage();
        assertTrue(m.contains("holds no PEM private key"), m);
    }

    @Test
    void writesNewKeysReadableByOwnerOnlyAndByOpenSsl() throws Exception {
        for (DkimAlgorithm a : DkimAlgorithm.values()) {
            KeyPair pair = DkimKeyFile.generate(a, 2048);
            Path file = dir.resolve(a.keyType() + ".pem");
            DkimKeyFile.write(file, pair.getPrivate());
            assertEquals(
                    "rw-------",
                    PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
            assertThrows(
                    FileAlreadyExistsException.class,
                    () -> DkimKeyFile.write(file, pair.getPrivate()));
            SigningKey k = DkimKeyFile.read("example.org", "s1", file);
            assertEquals(a, k.algorithm());
            String text =
                    new String(
                            openssl("pkey", "-in", file.toString(), "-noout", "-text"),
                            StandardCharsets.US_ASCII);
            assertTrue(text.contains(a == DkimAlgorithm.RSA_SHA256 ? "2048 bit" : "ED25519"), text);
        }
    }

    @Test
    void keyRecordsAreParsedAndCompared() {
        SigningKey rsa = TestKeys.rsa("example.org", "s1");
        SigningKey ed = TestKeys.ed25519("example.org", "s2");
        KeyRecord r = ((KeyRecord.Parsed.Valid) KeyRecord.parse(KeyRecord.render(rsa))).record();
        assertTrue(r.publishes(rsa));
        assertFalse(r.publishes(ed));
        // folded, without v=, k= defaulting to rsa, the key as PKCS#1 RSAPublicKey: still the same
        // key
        byte[] spki = rsa.publicKeyData();
        byte[] pkcs1 =
                org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(spki)
                        .getPublicKeyData()
                        .getBytes();
        String b64 = Base64.getEncoder().encodeToString(pkcs1);
        String folded = "t=y; p=" + b64.substring(0, 40) + " \r\n\t" + b64.substring(40) + ";";
        KeyRecord f = ((KeyRecord.Parsed.Valid) KeyRecord.parse(folded)).record();
        assertTrue(f.publishes(rsa));
        assertTrue(f.testing());
        KeyRecord revoked = ((KeyRecord.Parsed.Valid) KeyRecord.parse("v=DKIM1; p=")).record();
        assertTrue(revoked.revoked());
        assertFalse(revoked.publishes(rsa));
        assertInstanceOf(KeyRecord.Parsed.Invalid.class, KeyRecord.parse("k=rsa; v=DKIM1; p=AAAA"));
        assertInstanceOf(KeyRecord.Parsed.Invalid.class, KeyRecord.parse("v=DKIM1; k=rsa"));
        assertInstanceOf(KeyRecord.Parsed.Invalid.class, KeyRecord.parse("v=DKIM1; p=AA; p=BB"));
        assertInstanceOf(
                KeyRecord.Parsed.Invalid.class, KeyRecord.parse("v=DKIM1; h=sha1; p=AAAA"));
    }
}
