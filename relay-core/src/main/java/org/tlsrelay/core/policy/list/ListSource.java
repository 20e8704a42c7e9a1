package org.tlsrelay.core.policy.list;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One entry of {@code policy.lists}: a signed STARTTLS-Everywhere-format policy list, where to fetch it and its
 * signature, the armored OpenPGP key that must have signed it, and how often to look for a new version.
 */
public record ListSource(String name, URI url, URI signatureUrl, Path key, Duration refresh) {
    public ListSource {
        if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
            throw new IllegalArgumentException("name is required: letters, digits, '.', '_', '-'");
        }
        if (url == null) {
            throw new IllegalArgumentException("url is required");
        }
        requireFetchable(url);
        signatureUrl = signatureUrl != null ? signatureUrl : URI.create(url + ".asc");
        requireFetchable(signatureUrl);
        if (key == null) {
            throw new IllegalArgumentException("key is required (the armored OpenPGP public key)");
        }
        refresh = refresh != null ? refresh : Duration.ofHours(12);
        if (refresh.compareTo(Duration.ofHours(48)) > 0) {
            throw new IllegalArgumentException(
                    "refresh must be 48h or less (the list format requires it)");
        }
    }

    /** URLs must be absolute {@code https:} URLs ({@code file:} URLs are allowed for local lists). */
    private static void requireFetchable(URI uri) {
        if (uri.getScheme() == null
                || !(uri.getScheme().equals("https") || uri.getScheme().equals("file"))) {
            throw new IllegalArgumentException("\"" + uri + "\" must be an https: (or file:) URL");
        }
    }
}
