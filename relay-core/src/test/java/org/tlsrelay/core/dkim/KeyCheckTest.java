package org.tlsrelay.core.dkim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.tlsrelay.core.dns.DnsResult;

class KeyCheckTest {
    final SigningKey key = TestKeys.ed25519("example.org", "s1");
    final String name = key.recordName();

    private KeyCheck found(String... records) {
        return KeyCheck.of(key, new DnsResult.Found<>(name, name, List.of(records)));
    }

    @Test
    void eachAnswerHasItsVerdict() {
        assertEquals(KeyCheck.Status.MATCH, found(KeyRecord.render(key)).status());
        KeyCheck testing = found(KeyRecord.render(key) + "; t=y", "v=spf1 -all");
        assertEquals(KeyCheck.Status.MATCH, testing.status());
        assertTrue(
                testing.detail().contains("t=y") && testing.detail().contains("2 TXT records"),
                testing.detail());
        assertEquals(KeyCheck.Status.REVOKED, found("v=DKIM1; k=ed25519; p=").status());
        assertEquals(
                KeyCheck.Status.MISMATCH,
                found(
                                KeyRecord.render(
                                        SigningKey.of(
                                                "example.org",
                                                "s1",
                                                DkimKeyFile.generate(
                                                                DkimAlgorithm.ED25519_SHA256, 0)
                                                        .getPrivate())))
                        .status());
        KeyCheck invalid = found("v=spf1 -all");
        assertEquals(KeyCheck.Status.INVALID, invalid.status());
        assertTrue(invalid.detail().contains("publish: v=DKIM1; k=ed25519; p="), invalid.detail());
        assertEquals(
                KeyCheck.Status.MISSING,
                KeyCheck.of(key, new DnsResult.NoRecords<>(name, DnsResult.Absence.NXDOMAIN))
                        .status());
        assertEquals(
                KeyCheck.Status.DNS_ERROR,
                KeyCheck.of(key, new DnsResult.Failed<>(name, DnsResult.Failure.SERVFAIL, ""))
                        .status());
    }
}
