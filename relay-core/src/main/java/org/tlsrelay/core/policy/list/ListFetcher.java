package org.tlsrelay.core.policy.list;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.tls.TrustMaterial;

/**
 * Downloads a list or its signature: over HTTPS with the relay's outbound trust ({@code delivery.trust}) and host
 * name verification, TLS 1.2 or later, redirects only from https to https, a size cap and one deadline for the
 * whole exchange; or from a {@code file:} URL for a local list. The answer is hostile until its signature is checked.
 */
public final class ListFetcher {
    /** The whole exchange (connect, TLS, headers, body) must finish within this. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    private final HttpClient client;
    private final Duration timeout;

    public ListFetcher(SSLContext tls, Duration connectTimeout, Duration timeout) {
        SSLParameters params = tls.getDefaultSSLParameters();
        params.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        this.client =
                HttpClient.newBuilder()
                        .sslContext(tls)
                        .sslParameters(params)
                        .followRedirects(HttpClient.Redirect.NORMAL) // never from https to http
                        .connectTimeout(connectTimeout)
                        .build();
        this.timeout = timeout;
    }

    /** Trust from {@code delivery.trust}, connect timeout from {@code delivery.connect-timeout}. */
    public static ListFetcher from(ListSettings settings) throws IOException {
        return new ListFetcher(
                TrustMaterial.from(settings.systemTrust(), settings.extraCa()).clientContext(),
                settings.connectTimeout(),
                DEFAULT_TIMEOUT);
    }

    /** The bytes at {@code uri} ({@code https:} or {@code file:}), at most {@code maxBytes}. */
    public byte[] fetch(URI uri, int maxBytes) throws IOException {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme();
        return switch (scheme) {
            case "https" -> https(uri, maxBytes);
            case "file" -> file(uri, maxBytes);
            default -> throw new IOException(uri + ": only https: and file: URLs are fetched");
        };
    }

    private static byte[] file(URI uri, int maxBytes) throws IOException {
        Path path;
        try {
            path = Path.of(uri);
        } catch (IllegalArgumentException e) {
            throw new IOException(uri + ": not a local file URL (" + e.getMessage() + ")", e);
        }
        try {
            return ListStore.readCapped(path, maxBytes);
        } catch (NoSuchFileException e) {
            throw new IOException(path + ": no such file", e);
        }
    }

    private byte[] https(URI uri, int maxBytes) throws IOException {
        HttpRequest request =
                HttpRequest.newBuilder(uri)
                        .timeout(timeout)
                        .header("User-Agent", "tlsrelay")
                        .GET()
                        .build();
        CompletableFuture<HttpResponse<byte[]>> pending =
                client.sendAsync(
                        request,
                        info ->
                                info.statusCode() == 200
                                        ? new Capped(
                                                maxBytes,
                                                info.headers()
                                                        .firstValueAsLong("Content-Length")
                                                        .orElse(-1))
                                        : HttpResponse.BodySubscribers.replacing(new byte[0]));
        HttpResponse<byte[]> response;
        try {
            response = pending.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            pending.cancel(true);
            throw new IOException(
                    uri + ": no complete answer within " + timeout.toSeconds() + "s", e);
        } catch (InterruptedException e) {
            pending.cancel(true);
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(uri + ": interrupted");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IOException(uri + ": " + Problems.describe(cause), cause);
        }
        int status = response.statusCode();
        if (status / 100 == 3) {
            throw new IOException(
                    uri
                            + ": HTTP "
                            + status
                            + " redirect to "
                            + response.headers().firstValue("Location").orElse("(no Location)")
                            + " not followed (only https to https)");
        }
        if (status != 200) {
            throw new IOException(uri + ": HTTP " + status);
        }
        return response.body();
    }

    /** Collects the body, failing as soon as it exceeds the cap (announced or actual). */
    private static final class Capped implements HttpResponse.BodySubscriber<byte[]> {
        private final int max;
        private final long declared;
        private final CompletableFuture<byte[]> result = new CompletableFuture<>();
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();
        private Flow.Subscription subscription;

        Capped(int max, long declared) {
            this.max = max;
            this.declared = declared;
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            if (declared > max) {
                s.cancel();
                result.completeExceptionally(
                        new IOException(
                                "announces "
                                        + declared
                                        + " bytes, more than the "
                                        + max
                                        + " allowed"));
                return;
            }
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            if (result.isDone()) {
                return;
            }
            for (ByteBuffer b : buffers) {
                byte[] chunk = new byte[b.remaining()];
                b.get(chunk);
                body.write(chunk, 0, chunk.length);
            }
            if (body.size() > max) {
                subscription.cancel();
                result.completeExceptionally(
                        new IOException("larger than the " + max + " bytes allowed"));
            }
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            result.complete(body.toByteArray());
        }
    }
}
