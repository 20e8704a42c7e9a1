package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.config.ConfigLoader;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.testkit.DnsStubServer;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestHttpsServer;

/** The policy machinery reports MTA-STS fetch failures, the cache size and list times to RelayMetrics. */
class PolicyWiringMetricsTest {
    static final TestCa CA = TestCa.create("tlsrelay wiring CA");

    @TempDir Path dir;

    @Test
    void countsFetchFailuresByTypeAndCachedPolicies() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        RelayMetrics metrics = new RelayMetrics(registry, Clock.systemUTC());
        try (DnsStubServer dns = DnsStubServer.start();
                TestHttpsServer https =
                        TestHttpsServer.start(CA.issue("mta-sts.good.example").serverContext())) {
            dns.a("mta-sts.good.example", "127.0.0.1")
                    .txt("_mta-sts.good.example", "v=STSv1; id=1")
                    .a("mta-sts.bad.example", "127.0.0.1")
                    .txt("_mta-sts.bad.example", "v=STSv1; id=1");
            https.respond(
                    "/.well-known/mta-sts.txt",
                    TestHttpsServer.Response.text(
                            "version: STSv1\nmode: enforce\nmx: mx.good.example\nmax_age: 86400\n"));
            Path ca = CA.writeCertificatePem(dir.resolve("ca.pem"));
            Path config =
                    Files.writeString(
                            dir.resolve("tlsrelay.yaml"),
                            """
                    spool: { dir: %s }
                    dns: { servers: ["%s"], timeout: 1s }
                    delivery: { connect-timeout: 5s, trust: { system: false, extra-ca: ["%s"] } }
                    policy: { mta-sts: { https-port: %d } }
                    """
                                    .formatted(
                                            dir.resolve("spool"), dns.address(), ca, https.port()));
            try (PolicyWiring wiring = PolicyWiring.open(ConfigLoader.load(config), metrics)) {
                assertEquals(0, registry.get("tlsrelay.mta.sts.cache.policies").gauge().value());
                wiring.resolver().resolveNow("good.example", wiring.timeout());
                // the certificate names mta-sts.good.example, not mta-sts.bad.example
                assertTrue(
                        wiring.resolver()
                                .resolveNow("bad.example", wiring.timeout())
                                .stsFailure()
                                .isPresent());
            }
        }
        assertEquals(
                1,
                registry.get("tlsrelay.mta.sts.fetch.failures")
                        .tag("type", "sts-webpki-invalid")
                        .counter()
                        .count());
        assertEquals(1, registry.get("tlsrelay.mta.sts.cache.policies").gauge().value());
    }
}
