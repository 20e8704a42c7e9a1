package org.tlsrelay.core.policy.mtasts;

import java.util.concurrent.CompletableFuture;

/**
 * Fetches a domain's policy file from {@code https://mta-sts.DOMAIN/.well-known/mta-sts.txt} (RFC 8461 §3.3). The
 * future always completes normally; every failure is a {@link FetchResult.Failed} with its RFC 8460 type.
 */
public interface PolicyFetcher {

    /** The URL of {@code domain}'s policy (RFC 8461 §3.2). */
    static String url(String domain, int port) {
        return "https://mta-sts."
                + domain
                + (port == 443 ? "" : ":" + port)
                + "/.well-known/mta-sts.txt";
    }

    CompletableFuture<FetchResult> fetch(String domain);
}
