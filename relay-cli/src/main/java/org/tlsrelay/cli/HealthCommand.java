package org.tlsrelay.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.tlsrelay.core.config.ConfigException;
import org.tlsrelay.core.config.Durations;
import org.tlsrelay.core.config.HostPort;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.io.Problems;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tlsrelay health}: asks a running relay's admin server whether it is up (the container HEALTHCHECK). */
@Command(
        name = "health",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        header = "Is the running relay healthy? (GET /health on admin.listen)",
        description = {
            "Ask a running relay whether it is healthy: GET its /health endpoint (admin.listen) and print the answer. "
                    + "The relay answers 200 {\"status\":\"up\"} when its SMTP listener, its spool and its delivery "
                    + "scheduler are up, and 503 with a JSON reason otherwise. Used by the container image's "
                    + "HEALTHCHECK."
        },
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:the relay answered 200",
            "1:it answered anything else, or did not answer in time",
            "2:usage or configuration error"
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  tlsrelay health --config /etc/tlsrelay/tlsrelay.yaml",
            "  tlsrelay health --url http://127.0.0.1:8025/health",
            "  tlsrelay health --url http://127.0.0.1:8025/ready"
        })
final class HealthCommand implements Callable<Integer> {

    @Option(
            names = "--url",
            paramLabel = "URL",
            description =
                    "The URL to ask. Default: http://ADMIN_LISTEN/health, from admin.listen in the "
                            + "configuration (a wildcard address is asked on loopback).")
    String url;

    @Option(
            names = "--timeout",
            paramLabel = "DURATION",
            defaultValue = "5s",
            description =
                    "How long to wait for the answer (connect and response). Default: ${DEFAULT-VALUE}.")
    String timeout;

    @Mixin ConfigOption config;

    @Mixin Output output;

    @Override
    public Integer call() throws Exception {
        Duration wait;
        try {
            wait = Durations.parse(timeout);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--timeout: " + e.getMessage());
        }
        URI target = target();
        PrintWriter out = output.out();
        PrintWriter err = output.err();
        HttpClient client =
                HttpClient.newBuilder()
                        .connectTimeout(wait)
                        .followRedirects(HttpClient.Redirect.NEVER)
                        .build();
        HttpRequest request = HttpRequest.newBuilder(target).timeout(wait).GET().build();
        try {
            HttpResponse<String> response =
                    client.send(
                            request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            String body = response.body().strip();
            out.println(
                    response.statusCode()
                            + " "
                            + PolicyCheckCommand.printable(
                                    body.length() > 500 ? body.substring(0, 500) + "..." : body));
            out.flush();
            return response.statusCode() == 200 ? 0 : 1;
        } catch (IOException e) {
            return output.error(1, target + ": no answer: " + Problems.describe(e));
        }
    }

    private URI target() throws ConfigException {
        if (url != null) {
            try {
                URI u = new URI(url);
                if (!"http".equals(u.getScheme()) || u.getHost() == null) {
                    throw new UsageException("--url: \"" + url + "\" is not an http:// URL");
                }
                return u;
            } catch (URISyntaxException e) {
                throw new UsageException("--url: \"" + url + "\" is not a URL: " + e.getReason());
            }
        }
        RelayConfig c = config.load();
        HostPort listen = c.admin().listen();
        if (listen.port() == 0) {
            throw new UsageException("admin.listen has port 0 (chosen at start-up): give --url");
        }
        String host =
                switch (listen.host()) {
                    case "0.0.0.0" -> "127.0.0.1";
                    case "::", "::0" -> "::1";
                    default -> listen.host();
                };
        return URI.create("http://" + new HostPort(host, listen.port()) + "/health");
    }
}
