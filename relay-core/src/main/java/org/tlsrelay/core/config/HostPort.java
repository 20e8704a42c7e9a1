package org.tlsrelay.core.config;

import java.net.InetSocketAddress;

/** An address with a port: {@code 127.0.0.1:2525}, {@code [::1]:2525}, {@code localhost:8025}. */
public record HostPort(String host, int port) {
    public HostPort {
        if (host.isEmpty()) {
            throw new IllegalArgumentException("a host is required");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range");
        }
    }

    /** Parses {@code host:port}; {@code defaultPort} applies when the port is left out (use -1 to require it). */
    public static HostPort parse(String text, int defaultPort) {
        String t = text.trim();
        String host;
        String port = null;
        if (t.startsWith("[")) {
            int close = t.indexOf(']');
            if (close < 0) {
                throw notHostPort(text);
            }
            host = t.substring(1, close);
            String rest = t.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) {
                    throw notHostPort(text);
                }
                port = rest.substring(1);
            }
        } else {
            int colon = t.lastIndexOf(':');
            if (colon >= 0 && t.indexOf(':') != colon) {
                host = t; // a bare IPv6 address
            } else if (colon >= 0) {
                host = t.substring(0, colon);
                port = t.substring(colon + 1);
            } else {
                host = t;
            }
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException(
                    "\"" + text + "\" has no host (host:port, e.g. 127.0.0.1:2525 or [::1]:2525)");
        }
        int p;
        if (port == null) {
            if (defaultPort < 0) {
                throw new IllegalArgumentException("\"" + text + "\" needs a port (host:port)");
            }
            p = defaultPort;
        } else {
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                p = -1;
            }
            if (p < 0 || p > 65535) {
                throw new IllegalArgumentException(
                        "\""
                                + text
                                + "\": \""
                                + port
                                + "\" is not a port number (0-65535, 0: any free port)");
            }
        }
        return new HostPort(host, p);
    }

    private static IllegalArgumentException notHostPort(String text) {
        return new IllegalArgumentException(
                "\"" + text + "\" is not host:port (e.g. 127.0.0.1:2525 or [::1]:2525)");
    }

    public InetSocketAddress toSocketAddress() {
        return new InetSocketAddress(host, port);
    }

    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
