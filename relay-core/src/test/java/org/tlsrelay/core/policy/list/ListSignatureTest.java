package org.tlsrelay.core.policy.list;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import org.bouncycastle.bcpg.ArmoredOutputStream;
import org.bouncycastle.bcpg.HashAlgorithmTags;
import org.bouncycastle.openpgp.PGPSecretKey;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPSignatureGenerator;
import org.bouncycastle.openpgp.PGPSignatureSubpacketGenerator;
import org.bouncycastle.openpgp.operator.bc.BcPGPContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.tlsrelay.core.policy.list.ListSignatureException.Reason;

class ListSignatureTest {
    /** Well after the EFF signatures (2020) and the test keys' creation (30 days ago). */
    private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);

    private static ListKey eff;
    private static TestKeys publisher;
    private static TestKeys stranger;

    @BeforeAll
    static void keys() throws Exception {
        eff =
                ListKey.parse(
                        TestKeys.eff("eff-starttls-policy-pubkey.asc"),
                        "eff-starttls-policy-pubkey.asc");
        publisher = TestKeys.generate("List Publisher <lists@publisher.example>", "");
        stranger = TestKeys.generate("Someone Else <x@stranger.example>", "");
    }

    private static ListSignatureException refused(ListKey key, byte[] data, byte[] sig) {
        return assertThrows(ListSignatureException.class, () -> key.verify(data, sig, NOW));
    }

    @Test
    void realEffListVerifiesAgainstTheEffKeyBySigningSubkey() throws Exception {
        VerifiedSignature v =
                eff.verify(TestKeys.eff("policy.json"), TestKeys.eff("policy.json.asc"), NOW);

        assertEquals(Instant.ofEpochSecond(1589995512), v.created());
        assertEquals("2C319DE47066C200DFDC4D6B842AEA40C5BCD6E1", v.signingKey());
        assertEquals("B693F33372E965D76D55368616EEA65D03326C9D", v.primaryKey());
        assertEquals("STARTTLS Everywhere Team <starttls-policy@eff.org>", v.signer());
    }

    @Test
    void olderEffListVerifiesWithItsOwnSignatureTime() throws Exception {
        VerifiedSignature v =
                eff.verify(
                        TestKeys.eff("policy-2020-05-06.json"),
                        TestKeys.eff("policy-2020-05-06.json.asc"),
                        NOW);
        assertEquals(Instant.parse("2020-05-06T18:19:07Z"), v.created());
    }

    @Test
    void oneChangedByteIsABadSignature() {
        byte[] data = TestKeys.eff("policy.json");
        String text = new String(data, StandardCharsets.UTF_8);
        int at = text.indexOf("\"enforce\"") + 1;
        data[at] = (byte) 'E'; // "enforce" -> "Enforce": one byte

        ListSignatureException e = refused(eff, data, TestKeys.eff("policy.json.asc"));
        assertEquals(Reason.BAD_SIGNATURE, e.reason());
        assertTrue(e.getMessage().contains("does not match"), e.getMessage());
    }

    @Test
    void signatureOfTheOtherVersionIsABadSignature() {
        assertEquals(
                Reason.BAD_SIGNATURE,
                refused(
                                eff,
                                TestKeys.eff("policy.json"),
                                TestKeys.eff("policy-2020-05-06.json.asc"))
                        .reason());
    }

    @Test
    void signatureByAKeyOutsideTheRingIsUnknownKey() {
        byte[] data = TestKeys.eff("policy.json");
        ListSignatureException e = refused(eff, data, stranger.sign(data, NOW));
        assertEquals(Reason.UNKNOWN_KEY, e.reason());
        assertTrue(
                e.getMessage().contains("B693F33372E965D76D55368616EEA65D03326C9D"),
                e.getMessage());

        // and the EFF signature is unknown to a publisher's key
        assertEquals(
                Reason.UNKNOWN_KEY,
                refused(publisher.publicKey(), data, TestKeys.eff("policy.json.asc")).reason());
    }

    @Test
    void garbageEmptyAndClearSignedInputIsMalformed() {
        byte[] data = TestKeys.eff("policy.json");
        assertEquals(Reason.MALFORMED, refused(eff, data, new byte[0]).reason());
        assertEquals(
                Reason.MALFORMED,
                refused(eff, data, "hello world\n".getBytes(StandardCharsets.US_ASCII)).reason());
        assertEquals(
                Reason.MALFORMED,
                refused(eff, data, TestKeys.eff("eff-starttls-policy-pubkey.asc")).reason());
        byte[] clear =
                "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n{}\n"
                        .getBytes(StandardCharsets.US_ASCII);
        ListSignatureException e = refused(eff, data, clear);
        assertEquals(Reason.MALFORMED, e.reason());
        assertTrue(e.getMessage().contains("clear-signed"), e.getMessage());
    }

    @Test
    void truncatedArmorIsMalformed() {
        String asc = new String(TestKeys.eff("policy.json.asc"), StandardCharsets.US_ASCII);
        byte[] cut = asc.substring(0, asc.length() / 2).getBytes(StandardCharsets.US_ASCII);
        assertEquals(Reason.MALFORMED, refused(eff, TestKeys.eff("policy.json"), cut).reason());
    }

    @Test
    void malformedOrSecretKeysAreRefused() {
        assertEquals(
                Reason.MALFORMED,
                assertThrows(
                                ListSignatureException.class,
                                () ->
                                        ListKey.parse(
                                                "not a key".getBytes(StandardCharsets.US_ASCII),
                                                "k.asc"))
                        .reason());
        ListSignatureException secret =
                assertThrows(
                        ListSignatureException.class,
                        () ->
                                ListKey.parse(
                                        publisher
                                                .armoredSecret()
                                                .getBytes(StandardCharsets.US_ASCII),
                                        "k.asc"));
        assertTrue(secret.getMessage().contains("secret key"), secret.getMessage());
    }

    @Test
    void signThenVerifyRoundTripsWithSigningSubkeyAndTime() throws Exception {
        byte[] data =
                TestKeys.list(
                        NOW.minus(Duration.ofHours(1)),
                        NOW.plus(Duration.ofDays(14)),
                        TestKeys.POLICIES);
        Instant at = NOW.minus(Duration.ofMinutes(5));

        ListSigner.Signed signed =
                ListSigner.sign(
                        data,
                        publisher.armoredSecret().getBytes(StandardCharsets.US_ASCII),
                        new char[0],
                        at);
        assertTrue(signed.armored().startsWith("-----BEGIN PGP SIGNATURE-----"), signed.armored());

        VerifiedSignature v =
                publisher
                        .publicKey()
                        .verify(data, signed.armored().getBytes(StandardCharsets.US_ASCII), NOW);
        assertEquals(at, v.created());
        assertEquals(publisher.primaryFingerprint(), v.primaryKey());
        assertNotEquals(v.primaryKey(), v.signingKey()); // made by the signing subkey
        assertEquals("List Publisher <lists@publisher.example>", v.signer());
        assertEquals(v, signed.signature());
    }

    @Test
    void signatureFromTheFutureIsRefused() {
        byte[] data = "x".getBytes(StandardCharsets.US_ASCII);
        byte[] sig = publisher.sign(data, NOW.plus(Duration.ofHours(2)));
        ListSignatureException e = refused(publisher.publicKey(), data, sig);
        assertEquals(Reason.BAD_SIGNATURE, e.reason());
        assertTrue(e.getMessage().contains("future"), e.getMessage());
    }

    @Test
    void protectedSecretKeyNeedsTheRightPassphrase() throws Exception {
        TestKeys guarded = TestKeys.generate("Guarded <g@publisher.example>", "correct horse");
        byte[] secret = guarded.armoredSecret().getBytes(StandardCharsets.US_ASCII);
        byte[] data = "{}".getBytes(StandardCharsets.US_ASCII);

        ListSigningException none =
                assertThrows(
                        ListSigningException.class,
                        () -> ListSigner.sign(data, secret, new char[0], NOW));
        assertTrue(none.getMessage().contains("--passphrase-file"), none.getMessage());
        ListSigningException wrong =
                assertThrows(
                        ListSigningException.class,
                        () -> ListSigner.sign(data, secret, "wrong".toCharArray(), NOW));
        assertEquals("wrong passphrase for the secret key", wrong.getMessage());

        ListSigner.Signed ok = ListSigner.sign(data, secret, "correct horse".toCharArray(), NOW);
        assertEquals(
                guarded.primaryFingerprint(),
                guarded.publicKey()
                        .verify(data, ok.armored().getBytes(StandardCharsets.US_ASCII), NOW)
                        .primaryKey());
    }

    @Test
    void signatureByTheCertifyOnlyPrimaryKeyDoesNotCount() throws Exception {
        // The publisher's primary key may certify but not sign data (key flags, RFC 9580
        // §5.2.3.29): a data signature made with it anyway must not be accepted.
        byte[] data = "{}".getBytes(StandardCharsets.US_ASCII);
        PGPSecretKey primary = publisher.key().getPrimarySecretKey().getPGPSecretKey();
        PGPSignatureGenerator generator =
                new PGPSignatureGenerator(
                        new BcPGPContentSignerBuilder(
                                primary.getPublicKey().getAlgorithm(), HashAlgorithmTags.SHA512),
                        primary.getPublicKey());
        generator.init(PGPSignature.BINARY_DOCUMENT, primary.extractPrivateKey(null));
        PGPSignatureSubpacketGenerator hashed = new PGPSignatureSubpacketGenerator();
        hashed.setSignatureCreationTime(Date.from(NOW));
        hashed.setIssuerFingerprint(false, primary.getPublicKey());
        generator.setHashedSubpackets(hashed.generate());
        generator.update(data);
        ByteArrayOutputStream armored = new ByteArrayOutputStream();
        try (ArmoredOutputStream out = ArmoredOutputStream.builder().build(armored)) {
            generator.generate().encode(out);
        }

        ListSignatureException e = refused(publisher.publicKey(), data, armored.toByteArray());
        assertEquals(Reason.BAD_SIGNATURE, e.reason());
        assertTrue(e.getMessage().contains("not valid for signing"), e.getMessage());
    }

    @Test
    void publicKeyCannotSign() {
        assertThrows(
                ListSigningException.class,
                () ->
                        ListSigner.sign(
                                new byte[1],
                                publisher.armoredPublic().getBytes(StandardCharsets.US_ASCII),
                                new char[0],
                                NOW));
    }
}
