package org.tlsrelay.core.policy.list;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.bcpg.ArmoredOutputStream;
import org.bouncycastle.bcpg.HashAlgorithmTags;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.api.KeyPassphraseProvider;
import org.bouncycastle.openpgp.api.OpenPGPDetachedSignatureGenerator;
import org.bouncycastle.openpgp.api.OpenPGPKey;
import org.bouncycastle.openpgp.api.OpenPGPKeyReader;
import org.bouncycastle.openpgp.api.OpenPGPSignature;
import org.bouncycastle.openpgp.api.SignatureParameters;
import org.bouncycastle.openpgp.api.exception.InvalidSigningKeyException;
import org.bouncycastle.openpgp.api.exception.KeyPassphraseException;

/**
 * Makes the detached, ASCII-armored signature ({@code policy.json.asc}) with which an organisation publishes its own
 * list: what {@code gpg --armor --detach-sign policy.json} makes, from a secret key exported with
 * {@code gpg --armor --export-secret-keys}.
 */
public final class ListSigner {

    private ListSigner() {}

    /** A signature and who made it. */
    public record Signed(String armored, VerifiedSignature signature) {}

    /**
     * Signs {@code data} with every signing-capable key of {@code secretKey} (armored or binary), unlocked with
     * {@code passphrase} (empty for an unprotected key), dated {@code created}.
     */
    public static Signed sign(byte[] data, byte[] secretKey, char[] passphrase, Instant created)
            throws ListSigningException {
        OpenPGPKey key;
        try {
            key = new OpenPGPKeyReader(ListKey.OPENPGP).parseKey(secretKey);
        } catch (IOException | RuntimeException e) {
            throw new ListSigningException("not an OpenPGP secret key (" + e.getMessage() + ")", e);
        }
        List<OpenPGPSignature.OpenPGPDocumentSignature> signatures;
        try {
            KeyPassphraseProvider passphrases = k -> passphrase.clone();
            signatures =
                    new OpenPGPDetachedSignatureGenerator(ListKey.OPENPGP)
                            .addSigningKey(
                                    key,
                                    passphrases,
                                    new SignatureParameters.Callback() {
                                        @Override
                                        public SignatureParameters apply(SignatureParameters p) {
                                            // SHA-512, not Bouncy Castle's SHA3-512 default: GnuPG
                                            // 2.2 (gpgv, EFF's verify.sh)
                                            // cannot check SHA-3 signatures.
                                            return p.setSignatureCreationTime(Date.from(created))
                                                    .setSignatureHashAlgorithm(
                                                            HashAlgorithmTags.SHA512);
                                        }
                                    })
                            .sign(new ByteArrayInputStream(data));
        } catch (InvalidSigningKeyException e) {
            throw new ListSigningException(
                    "the key has no usable signing key or subkey (" + e.getMessage() + ")", e);
        } catch (KeyPassphraseException e) {
            throw new ListSigningException(
                    passphrase.length == 0
                            ? "the secret key is protected by a passphrase; give it with --passphrase-file"
                            : "wrong passphrase for the secret key",
                    e);
        } catch (PGPException | IOException | RuntimeException e) {
            throw new ListSigningException("cannot sign: " + e.getMessage(), e);
        }
        if (signatures.isEmpty()) {
            throw new ListSigningException("the key has no usable signing key or subkey");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ArmoredOutputStream armor = ArmoredOutputStream.builder().clearHeaders().build(out)) {
            for (OpenPGPSignature.OpenPGPDocumentSignature s : signatures) {
                s.getSignature().encode(armor);
            }
        } catch (IOException e) {
            throw new ListSigningException("cannot write the signature: " + e.getMessage(), e);
        }
        byte[] armored = out.toByteArray();
        // Check what we made against the key's own public half, as a partner's relay will.
        try {
            ListKey own = ListKey.parse(key.toCertificate().getEncoded(), "the signing key");
            return new Signed(
                    new String(armored, StandardCharsets.US_ASCII),
                    own.verify(data, armored, created));
        } catch (ListSignatureException | IOException e) {
            throw new ListSigningException("the new signature does not verify: " + e, e);
        }
    }
}
