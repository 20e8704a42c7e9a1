package org.tlsrelay.core.dkim;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.spec.RSAKeyGenParameterSpec;
import java.util.Base64;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.tlsrelay.core.io.PrivateFiles;

/**
 * DKIM private keys on disk: PEM, unencrypted, PKCS#8 ({@code BEGIN PRIVATE KEY}, RSA or Ed25519, as {@code openssl
 * genpkey} and {@code tlsrelay dkim keygen} write them) or PKCS#1 ({@code BEGIN RSA PRIVATE KEY}, as
 * {@code opendkim-genkey} writes them). RSA keys must have at least {@value #MIN_RSA_BITS} bits (RFC 8301 §3.2 asks
 * for 2048; 1024-bit keys are no longer safe).
 */
public final class DkimKeyFile {
    public static final int MIN_RSA_BITS = 2048;

    /** The largest RSA key {@code keygen} makes: RFC 8301 §3.2 obliges verifiers to handle keys up to 4096 bits. */
    public static final int MAX_RSA_BITS = 4096;

    private DkimKeyFile() {}

    /** The key in {@code file}, for {@code domain} and {@code selector}; the message says what is wrong and what to do. */
    public static SigningKey read(String domain, String selector, Path file)
            throws InvalidKeyFileException {
        PrivateKey key = readPrivateKey(file);
        SigningKey signing;
        try {
            signing = SigningKey.of(domain, selector, key);
        } catch (IllegalArgumentException e) {
            throw new InvalidKeyFileException(file + ": " + e.getMessage());
        }
        if (signing.algorithm() == DkimAlgorithm.RSA_SHA256 && signing.bits() < MIN_RSA_BITS) {
            throw new InvalidKeyFileException(
                    file
                            + ": the RSA key has "
                            + signing.bits()
                            + " bits; DKIM keys need "
                            + MIN_RSA_BITS
                            + " or more (RFC 8301): make a new one with tlsrelay dkim keygen");
        }
        return signing;
    }

    private static PrivateKey readPrivateKey(Path file) throws InvalidKeyFileException {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
                PEMParser p = new PEMParser(r)) {
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
            for (Object o = p.readObject(); o != null; o = p.readObject()) {
                if (o instanceof PrivateKeyInfo info) {
                    return conv.getPrivateKey(info);
                }
                if (o instanceof PEMKeyPair pair) {
                    return conv.getKeyPair(pair).getPrivate();
                }
                if (o instanceof PEMEncryptedKeyPair || o instanceof PKCS8EncryptedPrivateKeyInfo) {
                    throw new InvalidKeyFileException(
                            file
                                    + ": the private key is encrypted; the relay needs it unencrypted "
                                    + "(openssl pkey -in FILE -out NEW.pem, then chmod 600 NEW.pem)");
                }
            }
        } catch (NoSuchFileException e) {
            throw new InvalidKeyFileException(file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new InvalidKeyFileException(
                    file + ": cannot read it (permission denied for the relay's user)");
        } catch (IOException | RuntimeException e) {
            throw new InvalidKeyFileException(
                    file + ": not a PEM private key (" + e.getMessage() + ")");
        }
        throw new InvalidKeyFileException(file + ": holds no PEM private key");
    }

    /** A new key pair: RSA of {@code bits} bits (public exponent 65537), or Ed25519 ({@code bits} ignored). */
    public static KeyPair generate(DkimAlgorithm algorithm, int bits) {
        try {
            if (algorithm == DkimAlgorithm.RSA_SHA256) {
                if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
                    throw new IllegalArgumentException(
                            "RSA keys must have "
                                    + MIN_RSA_BITS
                                    + " to "
                                    + MAX_RSA_BITS
                                    + " bits, not "
                                    + bits);
                }
                KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
                g.initialize(new RSAKeyGenParameterSpec(bits, RSAKeyGenParameterSpec.F4));
                return g.generateKeyPair();
            }
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(
                    "the JDK cannot make " + algorithm.keyType() + " keys", e);
        }
    }

    /**
     * Writes {@code key} to a new file as PKCS#8 PEM, readable by its owner only (0600). An existing file is never
     * overwritten.
     *
     * @throws FileAlreadyExistsException when {@code file} exists
     */
    public static void write(Path file, PrivateKey key) throws IOException {
        String pem =
                "-----BEGIN PRIVATE KEY-----\n"
                        + Base64.getMimeEncoder(64, new byte[] {'\n'})
                                .encodeToString(key.getEncoded())
                        + "\n-----END PRIVATE KEY-----\n";
        PrivateFiles.createFile(file, pem.getBytes(StandardCharsets.US_ASCII));
    }
}
