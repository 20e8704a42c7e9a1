package org.tlsrelay.core.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.Digest;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.digests.SHA512Digest;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.bouncycastle.crypto.generators.PKCS5S2ParametersGenerator;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * A stored password hash, parsed once at start-up so that a malformed one is a configuration error, not a failed
 * login. Two formats:
 * <ul>
 *   <li>bcrypt: {@code $2a$}, {@code $2b$} or {@code $2y$}, cost 04..31, as made by {@code htpasswd -nbBC 12},
 *   {@code mkpasswd -m bcrypt} or {@code tlsrelay auth hash}.</li>
 *   <li>PBKDF2 (RFC 8018 §5.2) with HMAC-SHA-256 or HMAC-SHA-512, in the passlib format
 *   {@code $pbkdf2-sha256$ITERATIONS$SALT$HASH}: SALT and HASH in base64 without padding, where passlib's {@code .}
 *   stands for {@code +} (standard base64 is accepted too). At least {@value #MIN_PBKDF2_ITERATIONS} iterations.</li>
 * </ul>
 */
public sealed interface PasswordHash {
    int MIN_PBKDF2_ITERATIONS = 10_000;

    /** Whether {@code password} matches. Runs in time independent of where a mismatch is. */
    boolean matches(char[] password);

    /** Parses a stored hash; {@link IllegalArgumentException} says what is wrong without echoing the hash. */
    static PasswordHash parse(String stored) {
        if (stored == null || stored.isBlank()) {
            throw new IllegalArgumentException(
                    "a password-hash is required (bcrypt or PBKDF2, never plain text)");
        }
        String s = stored.trim();
        if (Bcrypt.FORM.matcher(s).matches()) {
            return new Bcrypt(s);
        }
        Matcher m = Pbkdf2.FORM.matcher(s);
        if (m.matches()) {
            return Pbkdf2.of(m);
        }
        throw new IllegalArgumentException(
                "password-hash is neither bcrypt ($2a$/$2b$/$2y$, cost 04-31, 53 characters "
                        + "after the cost) nor PBKDF2 ($pbkdf2-sha256$ITERATIONS$SALT$HASH)");
    }

    /** A new bcrypt hash ({@code $2y$}) of {@code password} with the given cost (4..31; 12 is a good default). */
    static String bcrypt(char[] password, int cost) {
        byte[] salt = new byte[16];
        new SecureRandom().nextBytes(salt);
        return OpenBSDBCrypt.generate("2y", password, salt, cost);
    }

    /** A new PBKDF2-HMAC-SHA-256 hash in the passlib format. */
    static String pbkdf2(char[] password, int iterations) {
        byte[] salt = new byte[16];
        new SecureRandom().nextBytes(salt);
        byte[] dk = Pbkdf2.derive(new SHA256Digest(), password, salt, iterations, 32);
        Base64.Encoder b64 = Base64.getEncoder().withoutPadding();
        return "$pbkdf2-sha256$"
                + iterations
                + "$"
                + b64.encodeToString(salt).replace('+', '.')
                + "$"
                + b64.encodeToString(dk).replace('+', '.');
    }

    /** bcrypt through Bouncy Castle's OpenBSDBCrypt. */
    record Bcrypt(String hash) implements PasswordHash {
        static final Pattern FORM =
                Pattern.compile("\\$2[aby]\\$(0[4-9]|[12][0-9]|3[01])\\$[./A-Za-z0-9]{53}");

        @Override
        public boolean matches(char[] password) {
            return OpenBSDBCrypt.checkPassword(hash, password);
        }

        @Override
        public String toString() {
            return "bcrypt";
        }
    }

    /** PBKDF2 with HMAC-SHA-256 or -512. */
    record Pbkdf2(String algorithm, int iterations, byte[] salt, byte[] derived)
            implements PasswordHash {
        static final Pattern FORM =
                Pattern.compile(
                        "\\$pbkdf2-(sha256|sha512)\\$([0-9]{1,9})\\$([./+A-Za-z0-9]+={0,2})\\$([./+A-Za-z0-9]+={0,2})");

        static Pbkdf2 of(Matcher m) {
            int iterations = Integer.parseInt(m.group(2));
            if (iterations < MIN_PBKDF2_ITERATIONS) {
                throw new IllegalArgumentException(
                        "PBKDF2 password-hash has "
                                + iterations
                                + " iterations; at least "
                                + MIN_PBKDF2_ITERATIONS
                                + " are required");
            }
            byte[] salt = decode(m.group(3));
            byte[] derived = decode(m.group(4));
            if (salt.length < 8 || derived.length < 16) {
                throw new IllegalArgumentException(
                        "PBKDF2 password-hash needs a salt of 8+ and a hash of 16+ octets");
            }
            return new Pbkdf2(m.group(1), iterations, salt, derived);
        }

        private static byte[] decode(String ab64) {
            try {
                return Base64.getDecoder().decode(ab64.replace('.', '+').replace("=", ""));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("PBKDF2 password-hash has invalid base64", e);
            }
        }

        static byte[] derive(
                Digest digest, char[] password, byte[] salt, int iterations, int length) {
            PKCS5S2ParametersGenerator gen = new PKCS5S2ParametersGenerator(digest);
            gen.init(new String(password).getBytes(StandardCharsets.UTF_8), salt, iterations);
            return ((KeyParameter) gen.generateDerivedParameters(length * 8)).getKey();
        }

        @Override
        public boolean matches(char[] password) {
            Digest d = algorithm.equals("sha512") ? new SHA512Digest() : new SHA256Digest();
            byte[] got = derive(d, password, salt, iterations, derived.length);
            return MessageDigest.isEqual(got, derived);
        }

        @Override
        public String toString() {
            return "pbkdf2-" + algorithm;
        }
    }
}
