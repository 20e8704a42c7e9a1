package org.tlsrelay.core.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tlsrelay.core.config.RelayConfig;

class PasswordHashTest {

    @ParameterizedTest
    @ValueSource(strings = {"2a", "2b", "2y"})
    void verifiesTheOpenwallBcryptVectorInEveryVersion(String version) {
        // crypt_blowfish test vector: "U*U" at cost 5.
        PasswordHash h =
                PasswordHash.parse(
                        "$"
                                + version
                                + "$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW");
        assertTrue(h.matches("U*U".toCharArray()));
        assertFalse(h.matches("U*V".toCharArray()));
    }

    @Test
    void verifiesPasslibPbkdf2HashesMadeByPythonHashlib() {
        // Made with hashlib.pbkdf2_hmac and passlib's adapted base64 ('.' for '+', no padding).
        PasswordHash sha256 =
                PasswordHash.parse(
                        "$pbkdf2-sha256$29000$MDEyMzQ1Njc4OWFiY2RlZg$uHVoxjLD1v3uqpdY8ehNPGUYMiKj8ROQSRwMSE033NY");
        assertTrue(sha256.matches("correct horse".toCharArray()));
        assertFalse(sha256.matches("correct horsE".toCharArray()));
        PasswordHash sha512 =
                PasswordHash.parse(
                        "$pbkdf2-sha512$25000$MDEyMzQ1Njc4OWFiY2RlZg$NAtVcXr7DbXedVbBm.JvbbmENX"
                                + "wAmeETSMIk.8rC9F5GBbGumPcNIpwLppBM7vaXnbPUqZhH3UgUjzNRgCPZMg");
        assertTrue(sha512.matches("correct horse".toCharArray()));
    }

    @Test
    void hashesItMakesVerify() {
        assertTrue(
                PasswordHash.parse(PasswordHash.bcrypt("s3cret".toCharArray(), 4))
                        .matches("s3cret".toCharArray()));
        String p = PasswordHash.pbkdf2("s3cret".toCharArray(), 10_000);
        assertTrue(p.startsWith("$pbkdf2-sha256$10000$"));
        assertTrue(PasswordHash.parse(p).matches("s3cret".toCharArray()));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "secret",
                "",
                "$1$abc$def",
                "$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
                "$2a$05$tooShort",
                "$pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$uHVoxjLD1v3uqpdY8ehNPGUYMiKj8ROQSRwMSE033NY",
                "$pbkdf2-md5$29000$MDEy$uHVo"
            })
    void refusesPlaintextAndUnknownOrWeakFormats(String stored) {
        assertThrows(IllegalArgumentException.class, () -> PasswordHash.parse(stored));
    }

    @Test
    void credentialsReportEveryBadUserByName() {
        RelayConfig.Auth auth =
                new RelayConfig.Auth(
                        List.of(
                                new RelayConfig.User("app1", "plaintext"),
                                new RelayConfig.User(
                                        "app2", PasswordHash.bcrypt("x".toCharArray(), 4))));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Credentials.from(auth));
        assertTrue(
                e.getMessage().startsWith("server.auth.users: app1: password-hash: "),
                e.getMessage());
    }

    @Test
    void credentialsVerifyKnownUsersOnly() {
        Credentials c =
                Credentials.from(
                        new RelayConfig.Auth(
                                List.of(
                                        new RelayConfig.User(
                                                "app1",
                                                PasswordHash.bcrypt("pw".toCharArray(), 4)))));
        assertEquals("app1", c.verify("app1", "pw".toCharArray()).orElseThrow());
        assertTrue(c.verify("app1", "nope".toCharArray()).isEmpty());
        assertTrue(c.verify("app2", "pw".toCharArray()).isEmpty());
    }
}
