package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.tlsrelay.core.config.HostPort;
import org.tlsrelay.core.metrics.Health;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.queue.FreeSpace;
import org.tlsrelay.core.queue.SpaceReserve;

/** The admin HTTP server on a loopback port, and {@code tlsrelay health} against it. */
class AdminServerTest {
    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    final RelayMetrics metrics = new RelayMetrics(registry, Clock.systemUTC());
    final Health health = new Health();
    final AtomicReference<Optional<String>> scheduler = new AtomicReference<>(Optional.empty());
    final HttpClient http = HttpClient.newHttpClient();
    AdminServer admin;

    @BeforeEach
    void start() throws Exception {
        health.register("listener", Optional::empty);
        health.register("scheduler", scheduler::get);
        admin = AdminServer.start(new HostPort("127.0.0.1", 0), registry, health);
    }

    @AfterEach
    void stop() {
        admin.close();
    }

    String url(String path) {
        return "http://127.0.0.1:" + admin.address().getPort() + path;
    }

    HttpResponse<String> get(String path) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create(url(path))).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void healthIsUpOnlyWhileEveryCheckPasses() throws Exception {
        HttpResponse<String> up = get("/health");
        assertEquals(200, up.statusCode());
        assertEquals("{\"status\":\"up\"}", up.body());
        assertEquals("application/json", up.headers().firstValue("Content-Type").orElse(""));

        scheduler.set(Optional.of("stopped"));
        HttpResponse<String> down = get("/health");
        assertEquals(503, down.statusCode());
        assertEquals("{\"status\":\"down\",\"reason\":\"scheduler: stopped\"}", down.body());
    }

    @Test
    void healthIsDegradedWithTheReasonWhileTheSpoolIsShortOfSpace() throws Exception {
        AtomicLong usable = new AtomicLong(500L << 20);
        FreeSpace space =
                new FreeSpace(
                        () -> new FreeSpace.Sample(usable.get(), 1000L << 20),
                        SpaceReserve.parse("100MB"),
                        Duration.ZERO,
                        System::nanoTime,
                        "/var/lib/tlsrelay/spool");
        health.registerDegradation("spool", space::shortage);
        metrics.bindFreeSpace(space);
        assertEquals("{\"status\":\"up\"}", get("/health").body());
        assertTrue(
                get("/metrics").body().contains("tlsrelay_spool_free_bytes 5.24288E8"),
                get("/metrics").body());

        usable.set(40L << 20);
        HttpResponse<String> degraded = get("/health");
        assertEquals(200, degraded.statusCode(), "up: a restart would not free any space");
        assertEquals(
                "{\"status\":\"degraded\",\"reason\":\"spool: 40MB free on the file system of"
                        + " /var/lib/tlsrelay/spool, below spool.min-free (100MB): new mail is refused"
                        + " with 452 4.3.1 until space is freed\"}",
                degraded.body());
        assertTrue(get("/metrics").body().contains("tlsrelay_spool_free_bytes 4.194304E7"));
        assertEquals(0, CliRun.run("health", "--url", url("/health")).exit());

        scheduler.set(Optional.of("stopped"));
        assertEquals(503, get("/health").statusCode(), "down wins over degraded");
    }

    @Test
    void readyOnlyAfterStartAndNotWhileStopping() throws Exception {
        assertEquals(503, get("/ready").statusCode());
        assertTrue(get("/ready").body().contains("starting"));
        health.ready();
        assertEquals(200, get("/ready").statusCode());
        health.notReady("stopping");
        HttpResponse<String> stopping = get("/ready");
        assertEquals(503, stopping.statusCode());
        assertTrue(stopping.body().contains("stopping"), stopping.body());
    }

    @Test
    void metricsAreInThePrometheusTextFormat() throws Exception {
        metrics.accepted();
        metrics.rejected(RelayMetrics.Rejection.RELAY_DENIED);
        HttpResponse<String> r = get("/metrics");
        assertEquals(200, r.statusCode());
        assertTrue(
                r.headers()
                        .firstValue("Content-Type")
                        .orElse("")
                        .startsWith("text/plain; version=0.0.4"));
        assertTrue(r.body().contains("tlsrelay_messages_accepted_total 1.0"), r.body());
        assertTrue(
                r.body().contains("tlsrelay_messages_rejected_total{reason=\"relay-denied\"} 1.0"),
                r.body());
        assertTrue(
                r.body().contains("# TYPE tlsrelay_delivery_latency_seconds histogram"), r.body());
    }

    @Test
    void otherPathsAndMethodsAreRefused() throws Exception {
        assertEquals(404, get("/").statusCode());
        assertEquals(404, get("/metrics/x").statusCode());
        HttpResponse<String> post =
                http.send(
                        HttpRequest.newBuilder(URI.create(url("/health")))
                                .POST(HttpRequest.BodyPublishers.ofString("x"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertEquals(405, post.statusCode());
        assertEquals("GET, HEAD", post.headers().firstValue("Allow").orElse(""));
    }

    @Test
    void healthCommandExitsZeroOnlyFor200() {
        CliRun up = CliRun.run("health", "--url", url("/health"));
        assertEquals(0, up.exit(), up.err());
        assertTrue(up.out().startsWith("200 {\"status\":\"up\"}"), up.out());

        scheduler.set(Optional.of("stopped"));
        CliRun down = CliRun.run("health", "--url", url("/health"));
        assertEquals(1, down.exit());
        assertTrue(down.out().startsWith("503 "), down.out());

        int port = admin.address().getPort();
        admin.close();
        CliRun gone =
                CliRun.run(
                        "health",
                        "--url",
                        "http://127.0.0.1:" + port + "/health",
                        "--timeout",
                        "2s");
        assertEquals(1, gone.exit());
        assertTrue(gone.err().contains("no answer"), gone.err());
    }

    @Test
    void healthCommandRefusesBadArguments() {
        assertEquals(2, CliRun.run("health", "--url", "ftp://127.0.0.1/health").exit());
        assertEquals(
                2,
                CliRun.run("health", "--url", "http://127.0.0.1:1/", "--timeout", "soon").exit());
    }
}
