package org.tlsrelay.testkit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLContext;

/**
 * A real HTTPS server on 127.0.0.1 (port chosen by the system) for MTA-STS policy fetches, list downloads and
 * TLS-RPT POSTs. Tests set what each path answers and read what was requested.
 */
public final class TestHttpsServer implements AutoCloseable {

    /** What one path answers. {@code headers} may carry e.g. {@code Location}. */
    public record Response(
            int status, String contentType, byte[] body, Map<String, String> headers) {
        public static Response text(String body) {
            return new Response(200, "text/plain", body.getBytes(StandardCharsets.UTF_8), Map.of());
        }

        public static Response bytes(String contentType, byte[] body) {
            return new Response(200, contentType, body, Map.of());
        }

        public static Response redirect(String location) {
            return new Response(302, "text/plain", new byte[0], Map.of("Location", location));
        }

        public static Response status(int status) {
            return new Response(status, "text/plain", new byte[0], Map.of());
        }
    }

    /** One request as received. */
    public record Request(
            String method,
            String path,
            String host,
            Map<String, List<String>> headers,
            byte[] body) {}

    private final HttpsServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final Map<String, Response> responses = new ConcurrentHashMap<>();
    private final List<Request> requests = new CopyOnWriteArrayList<>();

    private TestHttpsServer(HttpsServer server) {
        this.server = server;
    }

    /** Starts a server presenting the certificate behind {@code serverContext}. */
    public static TestHttpsServer start(SSLContext serverContext) throws IOException {
        HttpsServer s =
                HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        s.setHttpsConfigurator(new HttpsConfigurator(serverContext));
        TestHttpsServer t = new TestHttpsServer(s);
        s.createContext("/", t::handle);
        s.setExecutor(t.executor);
        s.start();
        return t;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public String url(String path) {
        return "https://127.0.0.1:" + port() + path;
    }

    /** Sets what {@code path} answers; unknown paths answer 404. */
    public TestHttpsServer respond(String path, Response response) {
        responses.put(path, response);
        return this;
    }

    public List<Request> requests() {
        return List.copyOf(requests);
    }

    private void handle(HttpExchange exchange) throws IOException {
        byte[] body;
        try (InputStream in = exchange.getRequestBody()) {
            body = in.readAllBytes();
        }
        String path = exchange.getRequestURI().getPath();
        requests.add(
                new Request(
                        exchange.getRequestMethod(),
                        path,
                        exchange.getRequestHeaders().getFirst("Host"),
                        Map.copyOf(exchange.getRequestHeaders()),
                        body));
        Response r = responses.getOrDefault(path, Response.status(404));
        r.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
        exchange.getResponseHeaders().add("Content-Type", r.contentType());
        exchange.sendResponseHeaders(r.status(), r.body().length == 0 ? -1 : r.body().length);
        if (r.body().length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(r.body());
            }
        }
        exchange.close();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
