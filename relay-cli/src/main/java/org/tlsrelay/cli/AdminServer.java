package org.tlsrelay.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.tlsrelay.core.config.HostPort;
import org.tlsrelay.core.metrics.Health;

/**
 * The admin HTTP server on {@code admin.listen} (loopback by default): {@code GET /metrics} in the Prometheus text
 * format, {@code GET /health} (liveness: 200 {@code {"status":"up"}} when every {@link Health} check passes, 200
 * {@code {"status":"degraded","reason":...}} while a part is short of something, such as free space for the spool,
 * else 503 with the reason) and {@code GET /ready} (readiness: 200 once the relay has started, 503 before and while it
 * stops). Nothing else: no request body is ever read, any other path is 404 and any other method 405.
 */
final class AdminServer implements AutoCloseable {
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    private static final String JSON_TYPE = "application/json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer http;
    private final ExecutorService executor;
    private final PrometheusMeterRegistry registry;
    private final Health health;

    private AdminServer(
            HttpServer http,
            ExecutorService executor,
            PrometheusMeterRegistry registry,
            Health health) {
        this.http = http;
        this.executor = executor;
        this.registry = registry;
        this.health = health;
    }

    /** Binds {@code listen} (port 0: any free port) and starts serving. */
    static AdminServer start(HostPort listen, PrometheusMeterRegistry registry, Health health)
            throws IOException {
        return start(bind(listen), registry, health);
    }

    /** Binds {@code listen} without serving yet: the relay binds its ports before anything else starts. */
    static HttpServer bind(HostPort listen) throws IOException {
        return HttpServer.create(
                new InetSocketAddress(InetAddress.getByName(listen.host()), listen.port()), 16);
    }

    /** Starts serving on {@code http}, which {@link #bind} bound. */
    static AdminServer start(HttpServer http, PrometheusMeterRegistry registry, Health health) {
        ExecutorService executor =
                Executors.newFixedThreadPool(2, DaemonThreads.numbered("admin-http-"));
        http.setExecutor(executor);
        AdminServer server = new AdminServer(http, executor, registry, health);
        http.createContext("/", server::handle);
        http.start();
        return server;
    }

    /** The bound address (the real port when {@code admin.listen} asked for port 0). */
    InetSocketAddress address() {
        return http.getAddress();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String method = ex.getRequestMethod();
            String path = ex.getRequestURI().getPath();
            if (!path.equals("/metrics") && !path.equals("/health") && !path.equals("/ready")) {
                send(
                        ex,
                        404,
                        JSON_TYPE,
                        json("error", "not found: use /metrics, /health or /ready"));
                return;
            }
            if (!method.equals("GET") && !method.equals("HEAD")) {
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
                send(ex, 405, JSON_TYPE, json("error", "method not allowed"));
                return;
            }
            switch (path) {
                case "/metrics" -> send(ex, 200, PROMETHEUS_TEXT, registry.scrape());
                case "/health" -> {
                    Optional<String> problems = health.problems();
                    Optional<String> degraded = health.degraded();
                    if (problems.isEmpty() && degraded.isEmpty()) {
                        send(ex, 200, JSON_TYPE, json("status", "up"));
                    } else if (problems.isEmpty()) {
                        // Up, but short of something (spool space): a restart would not help.
                        ObjectNode o =
                                JSON.createObjectNode()
                                        .put("status", "degraded")
                                        .put("reason", degraded.get());
                        send(ex, 200, JSON_TYPE, o.toString());
                    } else {
                        ObjectNode o =
                                JSON.createObjectNode()
                                        .put("status", "down")
                                        .put("reason", problems.get());
                        send(ex, 503, JSON_TYPE, o.toString());
                    }
                }
                default -> {
                    Optional<String> notReady = health.readiness().or(health::problems);
                    if (notReady.isEmpty()) {
                        send(ex, 200, JSON_TYPE, json("status", "ready"));
                    } else {
                        ObjectNode o =
                                JSON.createObjectNode()
                                        .put("status", "not ready")
                                        .put("reason", notReady.get());
                        send(ex, 503, JSON_TYPE, o.toString());
                    }
                }
            }
        }
    }

    private static String json(String key, String value) {
        return JSON.createObjectNode().put(key, value).toString();
    }

    private static void send(HttpExchange ex, int status, String type, String body)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        http.stop(0);
        executor.shutdownNow();
    }
}
