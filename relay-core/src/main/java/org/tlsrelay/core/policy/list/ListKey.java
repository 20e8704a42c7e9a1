package org.tlsrelay.core.policy.list;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import org.bouncycastle.bcpg.KeyIdentifier;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPMarker;
import org.bouncycastle.openpgp.PGPObjectFactory;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPSignatureList;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.api.OpenPGPCertificate;
import org.bouncycastle.openpgp.api.OpenPGPDetachedSignatureProcessor;
import org.bouncycastle.openpgp.api.OpenPGPImplementation;
import org.bouncycastle.openpgp.api.OpenPGPKeyReader;
import org.bouncycastle.openpgp.api.OpenPGPSignature;
import org.bouncycastle.openpgp.api.bc.BcOpenPGPImplementation;
import org.bouncycastle.util.encoders.Hex;
import org.tlsrelay.core.policy.list.ListSignatureException.Reason;

/**
 * The pinned OpenPGP public key (or keys) that must have signed a list, with the detached-signature check.
 *
 * <p>Verification follows what {@code gpgv --keyring KEY policy.json.asc policy.json} accepts: a binary or text
 * document signature (RFC 9580 §5.2.1, types 0x00/0x01) by the primary key or by a signing subkey that is bound to it
 * (§5.2.1 0x18 with its 0x19 back-signature), valid at the signature's creation time, under Bouncy Castle's default
 * algorithm policy. Expected outcomes are reported as {@link ListSignatureException} with one of three reasons.
 */
public final class ListKey {
    /** A publisher's clock may run a little ahead of ours; a signature further in the future is refused. */
    public static final Duration CLOCK_SKEW = Duration.ofHours(1);

    static final OpenPGPImplementation OPENPGP = new BcOpenPGPImplementation();
    private static final int MAX_KEY_BYTES = 1 << 20;
    private static final int MAX_SIGNATURE_BYTES = 1 << 16;

    private final List<OpenPGPCertificate> certificates;
    private final String source;

    private ListKey(List<OpenPGPCertificate> certificates, String source) {
        this.certificates = List.copyOf(certificates);
        this.source = source;
    }

    /** Reads an armored (or binary) public key file; a secret key or anything else is refused. */
    public static ListKey load(Path file) throws IOException, ListSignatureException {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_KEY_BYTES + 1);
        }
        if (bytes.length > MAX_KEY_BYTES) {
            throw new ListSignatureException(
                    Reason.MALFORMED, file + ": larger than 1 MB, not a public key");
        }
        return parse(bytes, file.toString());
    }

    /** Parses public key material; {@code source} names it in messages. */
    public static ListKey parse(byte[] keyBytes, String source) throws ListSignatureException {
        List<OpenPGPCertificate> certs;
        try {
            certs = new OpenPGPKeyReader(OPENPGP).parseKeysOrCertificates(keyBytes);
        } catch (IOException | RuntimeException e) {
            throw new ListSignatureException(
                    Reason.MALFORMED,
                    source + ": not an OpenPGP public key (" + e.getMessage() + ")",
                    e);
        }
        if (certs.isEmpty()) {
            throw new ListSignatureException(
                    Reason.MALFORMED, source + ": no OpenPGP public key found");
        }
        for (OpenPGPCertificate c : certs) {
            if (c.isSecretKey()) {
                // A relay needs only the public half; a secret key here is a mistake worth
                // stopping.
                throw new ListSignatureException(
                        Reason.MALFORMED,
                        source
                                + ": is a secret key; configure the "
                                + "public key instead (gpg --armor --export KEYID)");
            }
        }
        return new ListKey(certs, source);
    }

    /** Where the key came from (file name). */
    public String source() {
        return source;
    }

    /** The primary fingerprints, upper-case hex. */
    public List<String> fingerprints() {
        return certificates.stream().map(c -> hex(c.getFingerprint())).toList();
    }

    /**
     * Checks {@code signature} (a detached, armored OpenPGP signature) over {@code data}. {@code now} bounds the
     * signature creation time (at most {@link #CLOCK_SKEW} ahead). With several signatures in the file, one good
     * signature by this key suffices.
     */
    public VerifiedSignature verify(byte[] data, byte[] signature, Instant now)
            throws ListSignatureException {
        List<PGPSignature> signatures = readSignatures(signature);
        ListSignatureException bad = null;
        ListSignatureException unknown = null;
        for (PGPSignature sig : signatures) {
            try {
                return verifyOne(data, sig, now);
            } catch (ListSignatureException e) {
                if (e.reason() == Reason.BAD_SIGNATURE && bad == null) {
                    bad = e;
                } else if (unknown == null) {
                    unknown = e;
                }
            }
        }
        throw bad != null ? bad : unknown;
    }

    private VerifiedSignature verifyOne(byte[] data, PGPSignature sig, Instant now)
            throws ListSignatureException {
        KeyIdentifier issuer =
                OpenPGPSignature.getMostExpressiveIdentifier(sig.getKeyIdentifiers());
        if (issuer == null || issuer.isWildcard()) {
            throw new ListSignatureException(
                    Reason.UNKNOWN_KEY, "the signature does not name the key that made it");
        }
        OpenPGPCertificate cert = null;
        OpenPGPCertificate.OpenPGPComponentKey component = null;
        for (OpenPGPCertificate c : certificates) {
            component = c.getKey(issuer);
            if (component != null) {
                cert = c;
                break;
            }
        }
        if (cert == null) {
            throw new ListSignatureException(
                    Reason.UNKNOWN_KEY,
                    "signed by key "
                            + issuer
                            + ", which is not "
                            + (certificates.size() == 1
                                    ? "the configured key "
                                    : "one of the configured keys ")
                            + String.join(", ", fingerprints())
                            + " or one of its subkeys");
        }
        Instant created = sig.getCreationTime().toInstant();
        List<PGPException> errors = new ArrayList<>();
        List<OpenPGPSignature.OpenPGPDocumentSignature> checked;
        try {
            checked =
                    new OpenPGPDetachedSignatureProcessor(OPENPGP)
                            .addSignature(sig)
                            .addVerificationCertificate(cert)
                            .verifyNotAfter(Date.from(now.plus(CLOCK_SKEW)))
                            .setExceptionCallback(errors::add)
                            .process(new ByteArrayInputStream(data));
        } catch (IOException | RuntimeException e) {
            throw new ListSignatureException(
                    Reason.BAD_SIGNATURE, "cannot check: " + e.getMessage(), e);
        }
        String keyName = hex(component.getPGPPublicKey().getFingerprint());
        if (checked.isEmpty()) {
            if (!errors.isEmpty()) {
                throw new ListSignatureException(
                        Reason.BAD_SIGNATURE,
                        "refused by the OpenPGP policy: " + errors.get(0).getMessage());
            }
            if (created.isAfter(now.plus(CLOCK_SKEW))) {
                throw new ListSignatureException(
                        Reason.BAD_SIGNATURE,
                        "made in the future (" + created + "; now " + now + ")");
            }
            throw new ListSignatureException(
                    Reason.BAD_SIGNATURE,
                    "key "
                            + keyName
                            + " is not bound to "
                            + hex(cert.getFingerprint())
                            + " as a signing key");
        }
        OpenPGPSignature.OpenPGPDocumentSignature result = checked.get(0);
        if (!result.isTestedCorrect()) {
            throw new ListSignatureException(
                    Reason.BAD_SIGNATURE,
                    "the data does not match the signature by key "
                            + keyName
                            + " (changed or corrupted)");
        }
        try {
            if (!result.isValid()) {
                throw new ListSignatureException(
                        Reason.BAD_SIGNATURE,
                        "key "
                                + keyName
                                + " was not valid for signing at "
                                + created
                                + " (expired, revoked or not a signing key)");
            }
        } catch (PGPException e) {
            throw new ListSignatureException(
                    Reason.BAD_SIGNATURE, "key " + keyName + ": " + e.getMessage(), e);
        }
        OpenPGPCertificate.OpenPGPUserId uid = cert.getPrimaryUserId(Date.from(created));
        String primary = hex(cert.getFingerprint());
        return new VerifiedSignature(
                created, keyName, primary, uid != null ? uid.getUserId() : primary);
    }

    /** Reads every signature packet; anything that is not a detached signature is malformed. */
    private static List<PGPSignature> readSignatures(byte[] armored) throws ListSignatureException {
        if (armored.length == 0) {
            throw new ListSignatureException(Reason.MALFORMED, "the signature file is empty");
        }
        if (armored.length > MAX_SIGNATURE_BYTES) {
            throw new ListSignatureException(
                    Reason.MALFORMED, "the signature file is larger than 64 KB");
        }
        String head =
                new String(armored, 0, Math.min(armored.length, 64), StandardCharsets.ISO_8859_1)
                        .strip();
        if (head.startsWith("-----BEGIN PGP SIGNED MESSAGE-----")) {
            throw new ListSignatureException(
                    Reason.MALFORMED,
                    "a clear-signed message, not a detached signature (sign with gpg --armor --detach-sign)");
        }
        List<PGPSignature> out = new ArrayList<>();
        try (InputStream in = PGPUtil.getDecoderStream(new ByteArrayInputStream(armored))) {
            PGPObjectFactory factory = OPENPGP.pgpObjectFactory(in);
            Object o;
            while ((o = factory.nextObject()) != null) {
                if (o instanceof PGPMarker) {
                    continue; // RFC 9580 §5.8: a marker packet must be ignored
                }
                if (!(o instanceof PGPSignatureList list)) {
                    throw new ListSignatureException(
                            Reason.MALFORMED,
                            "contains "
                                    + o.getClass().getSimpleName().replace("PGP", "OpenPGP ")
                                    + ", not only signatures");
                }
                for (PGPSignature s : list) {
                    int type = s.getSignatureType();
                    if (type != PGPSignature.BINARY_DOCUMENT
                            && type != PGPSignature.CANONICAL_TEXT_DOCUMENT) {
                        throw new ListSignatureException(
                                Reason.MALFORMED,
                                String.format(
                                        Locale.ROOT,
                                        "a signature of type 0x%02x, not a document signature",
                                        type));
                    }
                    out.add(s);
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new ListSignatureException(
                    Reason.MALFORMED, "not an OpenPGP signature (" + e.getMessage() + ")", e);
        }
        if (out.isEmpty()) {
            throw new ListSignatureException(Reason.MALFORMED, "no OpenPGP signature found");
        }
        return out;
    }

    static String hex(byte[] fingerprint) {
        return Hex.toHexString(fingerprint).toUpperCase(Locale.ROOT);
    }
}
