package org.tlsrelay.core.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Where the cluster's Redis listens ({@code cluster.redis}): {@code redis://[[user]:password@]host[:port][/db]}, or
 * {@code rediss://...} for TLS. The password is never shown: {@link #toString} masks it, so the value can be logged.
 *
 * @param tls {@code rediss:}: the connection is TLS (with the JDK's trusted CAs)
 * @param user empty for the default user
 * @param password empty for none
 * @param database the logical database (0-15 on a stock Redis)
 */
public record RedisUrl(
        boolean tls, String host, int port, int database, String user, String password) {
    public static final int DEFAULT_PORT = 6379;

    public RedisUrl {
        if (host.isEmpty()) {
            throw new IllegalArgumentException("a Redis URL needs a host");
        }
        if (port < 1 || port > 65535 || database < 0) {
            throw new IllegalArgumentException("port or database out of range");
        }
    }

    /** Parses the value of {@code cluster.redis}; the message of a refusal says what a valid one looks like. */
    public static RedisUrl parse(String text) {
        String hint =
                " (e.g. redis://127.0.0.1:6379/0, or rediss://:PASSWORD@redis.example.org:6380/0)";
        URI uri;
        try {
            uri = new URI(text.trim());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("\"" + text + "\" is not a Redis URL" + hint);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme();
        if (!scheme.equals("redis") && !scheme.equals("rediss")) {
            throw new IllegalArgumentException(
                    "\""
                            + text
                            + "\" is not a Redis URL: it must start with redis:// or rediss://"
                            + hint);
        }
        String host = uri.getHost();
        if (host == null || host.isEmpty()) {
            throw new IllegalArgumentException("\"" + text + "\" names no host" + hint);
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = uri.getPort() < 0 ? DEFAULT_PORT : uri.getPort();
        String path = uri.getPath() == null ? "" : uri.getPath();
        int db = 0;
        if (!path.isEmpty() && !path.equals("/")) {
            try {
                db = Integer.parseInt(path.substring(1));
            } catch (NumberFormatException e) {
                db = -1;
            }
            if (db < 0) {
                throw new IllegalArgumentException(
                        "\""
                                + path.substring(1)
                                + "\" is not a Redis database number (0, 1, ...)"
                                + hint);
            }
        }
        if (uri.getQuery() != null || uri.getFragment() != null) {
            throw new IllegalArgumentException(
                    "\"" + text + "\" has parts a Redis URL does not take" + hint);
        }
        String user = "";
        String password = "";
        String info = uri.getRawUserInfo();
        if (info != null) {
            int colon = info.indexOf(':');
            user = decode(colon < 0 ? info : info.substring(0, colon));
            password = colon < 0 ? "" : decode(info.substring(colon + 1));
            if (colon < 0) { // redis://PASSWORD@host is the common short form
                password = user;
                user = "";
            }
        }
        return new RedisUrl(scheme.equals("rediss"), host, port, db, user, password);
    }

    public Optional<String> userName() {
        return user.isEmpty() ? Optional.empty() : Optional.of(user);
    }

    public Optional<String> secret() {
        return password.isEmpty() ? Optional.empty() : Optional.of(password);
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    /** The URL as written, the password replaced by {@code ***}. */
    @Override
    public String toString() {
        String auth =
                user.isEmpty() && password.isEmpty()
                        ? ""
                        : user + (password.isEmpty() ? "" : ":***") + "@";
        String h = host.contains(":") ? "[" + host + "]" : host;
        return (tls ? "rediss://" : "redis://") + auth + h + ":" + port + "/" + database;
    }
}
